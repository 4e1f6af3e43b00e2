/**
 * A data section read as a stream (online training): a schema that needs nothing fit on data, and
 * the source's rows in source order, encoded and cut into batches, in constant memory however long
 * the source is.
 *
 * Nothing is fit because a stream has no "fit rows" to fit on, and ids must keep arriving: every
 * categorical or log-bucket field (and every sequence) is hashed — its own `hashBuckets`, else the
 * stream's default — so an id never seen before still gets a row; or a field's vocabulary grows as
 * the stream goes (src/schema/growingVocab.ts), into a table of fixed capacity. Dense columns keep their
 * stateless transforms; standardisation (statistics of fit rows) and shared vocabularies are refused.
 */
import { resolve } from 'node:path';
import { openJetStreamLines, type JetStreamSourceOptions } from '../data/jetstream.js';
import type { Dataset } from '../data/dataset.js';
import { handleBadLine, type BadLinePolicy, type ReaderStats } from '../data/readers/reader.js';
import { STDIN } from '../data/readers/textFile.js';
import type { DataConfig, SourceConfig } from './config.js';
import { ConfigError } from './errors.js';
import { fittedCoder } from './encodeRows.js';
import type { GrowingVocabularies } from './growingVocab.js';
import { FittedSchema } from './fitted.js';
import { newParsedRow, rawText, rowParser } from './rows.js';
import { openColumns } from './source.js';
import { openByteRowStream } from './streamBytes.js';
import { sequencedRowStream } from './streamMessages.js';
import { specColumns, specFromConfig, type IdFieldSpec, type SequenceSpec } from './spec.js';
import { RowStore } from './store.js';

/** Formats a stream can be read in (line formats with a constant-memory reader). */
export const STREAM_FORMATS = ['criteo', 'csv', 'svmlight'] as const;

/** Vocabularies that grow on the stream (train.online.vocab): which fields, and their rule. */
export interface StreamVocab {
  minCount: number;
  capacity: number;
  /** Names of the fields that grow a vocabulary (undefined: every field that would otherwise hash by default). */
  fields?: readonly string[] | undefined;
}

/**
 * The fitted schema of a stream: `data` with every vocabulary replaced by hashing into
 * `defaultBuckets` (unless the field sets hashBuckets), or by an empty vocabulary of `vocab.capacity`
 * rows that grows as the stream is read (a field `vocab` covers). Throws ConfigError naming each field that
 * cannot be encoded without fitting, `where` being the config key path of the default.
 */
export function streamSchema(data: DataConfig, defaultBuckets: number | undefined, file: string, where: string, vocab?: StreamVocab): FittedSchema {
  const problems: string[] = [];
  const at = (name: string, msg: string): void => {
    const i = data.fields.findIndex((f) => f.name === name);
    problems.push(`${file}: data.fields[${i}]: field ${name}: ${msg}`);
  };
  const buckets = (name: string): number => {
    if (defaultBuckets === undefined) at(name, `a vocabulary cannot be fit on a stream: give it hashBuckets, or set ${where} for every such field`);
    return defaultBuckets ?? 1;
  };
  for (const f of data.fields) {
    if (f.kind !== 'sequence' && f.minCount !== undefined) at(f.name, 'minCount needs a vocabulary fit on data, which a stream has not: remove it (the field is hashed, or grows a vocabulary under train.online.vocab)');
  }
  const grows = (name: string): boolean => vocab !== undefined && (vocab.fields === undefined || vocab.fields.includes(name));
  const spec = specFromConfig(data);
  spec.fields = spec.fields.map((f): IdFieldSpec => {
    if (f.kind !== 'vocab') return f;
    if (grows(f.name)) {
      const { required: _r, ...rest } = f;
      return { ...rest, minCount: vocab!.minCount, vocabulary: [], capacity: vocab!.capacity };
    }
    const { kind: _k, logBucket, minCount: _m, vocabulary: _v, required: _r, ...base } = f;
    return { ...base, kind: 'hash', buckets: buckets(f.name), ...(logBucket ? { logBucket: true as const } : {}) };
  });
  for (const d of spec.dense) {
    if (d.transform === 'standardize') at(d.name, 'transform standardize needs statistics of fit rows, which a stream has not: use identity or log');
  }
  spec.sequences = spec.sequences.map((s): SequenceSpec => {
    if (s.kind === 'shared') at(s.name, `a shared vocabulary (vocab: ${s.vocab}) cannot be fit on a stream: give the sequence its own hashBuckets`);
    if (s.kind !== 'vocab') return s;
    const { kind: _k, minCount: _m, vocabulary: _v, ...base } = s;
    return { ...base, kind: 'hash', buckets: buckets(s.name) };
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return new FittedSchema(spec);
}

/** One batch of consecutive source rows. */
export interface StreamBatch {
  dataset: Dataset;
  /** The input line of each row (1-based; a CSV header is line 1). */
  lines: Uint32Array;
  /** With StreamOptions.sliceField: each row's raw value of that field. */
  slices?: string[];
  /** With StreamOptions.jetstream: the stream sequence of each row's message. */
  messageSequences?: Float64Array;
  /** With StreamOptions.jetstream: each row's line in its message (1-based; 1 in a one-record message). */
  messageLines?: Uint32Array;
  /**
   * With StreamOptions.jetstream, when lines of the last row's message follow that row's: its
   * line there — how many lines of the message the batch consumed, where a resume continues
   * (JetStreamSourceOptions.startAfterLines). Absent when the batch ends with its message.
   */
  openMessageLines?: number;
}

export interface StreamOptions {
  batchSize: number;
  /** Rows on lines ≤ this were consumed by an earlier run: read past, not returned (resume). Not with jetstream (its own startSequence, startAfterLines). */
  after?: number;
  onBadLine?: BadLinePolicy;
  /** How many skip messages to keep (default 10). */
  keepSkipped?: number;
  /** Bytes per read (default 1 MiB; small values make a pipe's rows arrive sooner). */
  chunkSize?: number;
  /** Index of an id field whose raw values to return with each batch (per-slice metrics). */
  sliceField?: number;
  /** Read these lines instead of `path`, which then only names them. */
  content?: AsyncIterable<Buffer>;
  /**
   * Read this NATS JetStream stream's messages instead of `path`, which then only names them
   * (src/data/jetstream.ts, src/schema/streamMessages.ts): batches carry their rows' sequences, a bad
   * line is named by its message's sequence, and the connection is closed when the rows end.
   */
  jetstream?: JetStreamSourceOptions;
  /** The growing vocabularies of `fitted`'s fields with a capacity: each row's ids are admitted there, in stream order. */
  vocabularies?: GrowingVocabularies;
}

export interface RowStream extends AsyncIterable<StreamBatch> {
  /** The reader's counters (bad lines the schema refused included), final once iteration ends. */
  readonly stats: ReaderStats;
}

/**
 * Opens `path` (STDIN, '-', for standard input; or options.content or options.jetstream) in the source's format, with labels. The last batch may
 * be short. Bad lines are errors naming file:line:field, or skipped and counted under onBadLine skip.
 */
export async function openRowStream(fitted: FittedSchema, source: SourceConfig, path: string, baseDir: string,
  options: StreamOptions): Promise<RowStream> {
  if (!(STREAM_FORMATS as readonly string[]).includes(source.format)) {
    throw new ConfigError([`data.source.format: ${source.format} cannot be read as a stream (formats: ${STREAM_FORMATS.join(', ')})`]);
  }
  if (options.jetstream !== undefined) {
    const { jetstream, ...rest } = options;
    const lines = await openJetStreamLines(jetstream);
    return sequencedRowStream(lines, (content, after) => openRowStream(fitted, source, path, baseDir, { ...rest, content, after }));
  }
  const file = path === STDIN || options.content !== undefined ? path : resolve(baseDir, path);
  return await openByteRowStream(fitted, source, file, options) ?? openTextRowStream(fitted, source, file, baseDir, options);
}

/**
 * openRowStream read as text: lines and values as strings, through the format's line reader and the
 * schema's row parser. The reference of the byte path (src/schema/streamBytes.ts), and the reader
 * of what that does not cover. `file` is resolved already.
 */
export async function openTextRowStream(fitted: FittedSchema, source: SourceConfig, file: string, baseDir: string,
  options: StreamOptions): Promise<RowStream> {
  const { spec } = fitted;
  const policy = options.onBadLine ?? 'error';
  const keep = options.keepSkipped ?? 10;
  const src = await openColumns(source, file, baseDir, specColumns(spec, true),
    {
      stream: true, onBadLine: policy, keepSkipped: keep,
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }), ...(options.content === undefined ? {} : { content: options.content }),
    });
  const parse = rowParser(spec, true);
  const row = newParsedRow(spec, true);
  const coder = options.vocabularies ? options.vocabularies.coder(fittedCoder(fitted)) : fittedCoder(fitted);
  const F = spec.fields.length;
  const after = options.after ?? 0;
  const sliceField = options.sliceField;
  const stats = src.stats;
  const newStore = (): RowStore => new RowStore(spec.labels.length, spec.sequences.length, spec.weight !== undefined, undefined);
  async function* batches(): AsyncGenerator<StreamBatch> {
    let store = newStore();
    let lines: number[] = [];
    let slices: string[] = [];
    const flush = (): StreamBatch => {
      const b: StreamBatch = { dataset: fitted.toDataset(store.take()), lines: Uint32Array.from(lines) };
      if (sliceField !== undefined) b.slices = slices;
      store = newStore();
      lines = [];
      slices = [];
      options.vocabularies?.newBatch();
      return b;
    };
    for await (const { values, line } of src) {
      if (line <= after) continue;
      try {
        parse(values, src.file, line, row);
      } catch (err) {
        // The line reader yields in line order, so its own skips and these interleave in line order too.
        handleBadLine(err, policy, stats, keep);
        stats.rows--;
        continue;
      }
      store.push(row, src.file, line, (j) => coder.field(j, row), F, coder.token);
      lines.push(line);
      if (sliceField !== undefined) slices.push(rawText(row.fieldRaw[sliceField]!));
      if (lines.length === options.batchSize) yield flush();
    }
    if (lines.length > 0) yield flush();
  }
  return { stats, [Symbol.asyncIterator]: batches };
}
