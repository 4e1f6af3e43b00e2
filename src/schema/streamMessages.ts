/**
 * The row stream of a NATS JetStream stream's messages (src/data/jetstream.ts): the rows of the
 * messages' lines, each batch with its rows' places in the stream — message sequence and line in
 * the message — (what a checkpoint records, so that a resumed run asks for the next message, or the
 * same one past the lines it consumed), and a malformed record named by its message's sequence (and
 * its line there, for a message of several) — the numbers a JetStream user can look up — rather
 * than by its line among the lines received. It sits under openRowStream, so that the read-ahead
 * worker (src/schema/streamWorker.ts) receives the messages on its own connection and hands over
 * batches that already carry their places: the training thread then neither decodes messages nor
 * keeps a line → sequence map.
 */
import type { JetStreamLines } from '../data/jetstream.js';
import { DataFormatError } from '../data/readers/errors.js';
import type { RowStream, StreamBatch } from './stream.js';

/**
 * The rows `open` reads from `lines.content`, with their places; `after` is the leading lines an
 * earlier run consumed (JetStreamLines.consumed), whose rows `open` drops as a file's resume does.
 * The connection closes when the rows end, fail, or their iteration stops (or when `open` fails).
 */
export async function sequencedRowStream(lines: JetStreamLines,
  open: (content: AsyncIterable<Buffer>, after: number) => Promise<RowStream>): Promise<RowStream> {
  /** A bad line's error as its message's: the same detail and field at `<name>:<sequence>`, or `<name>:<sequence>:<line>` in a message of several lines. */
  const named = (err: unknown): unknown => {
    if (!(err instanceof DataFormatError) || err.line === undefined) return err;
    const seq = lines.sequenceOf(err.line);
    return lines.linesOf(err.line) === 1 ? new DataFormatError(lines.name, seq, err.field, err.detail)
      : new DataFormatError(`${lines.name}:${seq}`, lines.lineOf(err.line), err.field, err.detail);
  };
  let rows: RowStream;
  try {
    rows = await open(lines.content, await lines.consumed());
  } catch (err) {
    await lines.close();
    throw named(err);
  }
  async function* batches(): AsyncGenerator<StreamBatch> {
    try {
      for await (const b of rows) {
        const { sequences: messageSequences, lines: messageLines, openLines } = lines.places(b.lines);
        const last = b.lines[b.lines.length - 1];
        // Later errors name later lines only: the map keeps the lines not yet in a batch.
        if (last !== undefined) lines.forget(last);
        yield { ...b, messageSequences, messageLines, ...(openLines > 0 && { openMessageLines: openLines }) };
      }
    } catch (err) {
      throw named(err);
    } finally {
      await lines.close();
    }
  }
  return { stats: rows.stats, [Symbol.asyncIterator]: batches };
}
