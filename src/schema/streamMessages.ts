/**
 * The row stream of a NATS JetStream stream's messages (src/data/jetstream.ts): the rows of the
 * messages' lines, each batch with its rows' stream sequences (what a checkpoint records, so that a
 * resumed run asks for the next one), and a malformed message named by its sequence — the number a
 * JetStream user can look up — rather than by its line among the lines received. It sits under
 * openRowStream, so that the read-ahead worker (src/schema/streamWorker.ts) receives the messages on
 * its own connection and hands over batches that already carry their sequences: the training thread
 * then neither decodes messages nor keeps a line → sequence map.
 */
import type { JetStreamLines } from '../data/jetstream.js';
import { DataFormatError } from '../data/readers/errors.js';
import type { RowStream, StreamBatch } from './stream.js';

/**
 * The rows `open` reads from `lines.content`, with their sequences. The connection closes when the
 * rows end, fail, or their iteration stops (or when `open` fails).
 */
export async function sequencedRowStream(lines: JetStreamLines, open: (content: AsyncIterable<Buffer>) => Promise<RowStream>): Promise<RowStream> {
  /** A bad line's error as its message's: the same detail and field at `<name>:<sequence>`. */
  const named = (err: unknown): unknown => {
    if (!(err instanceof DataFormatError) || err.line === undefined) return err;
    return new DataFormatError(lines.name, lines.sequenceOf(err.line), err.field, err.detail);
  };
  let rows: RowStream;
  try {
    rows = await open(lines.content);
  } catch (err) {
    await lines.close();
    throw named(err);
  }
  async function* batches(): AsyncGenerator<StreamBatch> {
    try {
      for await (const b of rows) {
        const n = b.lines.length;
        const messageSequences = Float64Array.from(b.lines, (l) => lines.sequenceOf(l));
        // Later errors name later lines only: the map keeps the lines not yet in a batch.
        if (n > 0) lines.forget(b.lines[n - 1]!);
        yield { ...b, messageSequences };
      }
    } catch (err) {
      throw named(err);
    } finally {
      await lines.close();
    }
  }
  return { stats: rows.stats, [Symbol.asyncIterator]: batches };
}
