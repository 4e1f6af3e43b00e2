import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { CategoricalField, LogBucketField } from '../data/prep/field.js';
import type { ReaderStats } from '../data/readers/reader.js';
import { sourcePath, type DataConfig } from './config.js';
import { FittedSchema, hashFieldBucket } from './fitted.js';
import { hashBucket } from './hash.js';
import { ingestFile, type IngestOptions, type RowCoder } from './ingest.js';
import { RunningMoments } from './numeric.js';
import { applySplit, type DataSplit, type FileRows } from './split.js';
import { specFromConfig } from './spec.js';
import { RowStore } from './store.js';

export interface BuildStats {
  /** Rows kept (all files). */
  rows: number;
  /** Lines dropped under onBadLine: skip (all files). */
  skippedLines: number;
  /** The first skip messages (file:line: field ...: reason). */
  skippedExamples: string[];
  /** Per-file reader counters. */
  files: ReaderStats[];
}

export interface BuildResult {
  /** All rows, ordered fit, validation, test (file order within each, except mode random which reorders). */
  dataset: Dataset;
  split: DataSplit;
  fitted: FittedSchema;
  stats: BuildStats;
}

/**
 * Reads the configured files in one streaming pass and encodes them. Values are stored as compact
 * codes; vocabularies and dense statistics are fit on the fit rows only, as src/data/prep does, so
 * validation and test rows see OOV ids for tokens the model never trained on.
 *
 * `baseDir` resolves the relative paths of the config (the repository root for examples/).
 */
export async function buildDataset(cfg: DataConfig, baseDir: string, options: IngestOptions = {}): Promise<BuildResult> {
  const spec = specFromConfig(cfg);
  const F = spec.fields.length;
  const policy = options.onBadLine ?? cfg.onBadLine;

  // Provisional codes per distinct token (CategoricalField.intern), fit once the fit rows are known.
  const vocabs = spec.fields.map((f) => (f.kind !== 'vocab' ? undefined
    : f.logBucket ? new LogBucketField(f.name, f.minCount) : new CategoricalField(f.name, f.minCount)));
  // A shared sequence interns into its owner field's vocabulary: one code space, fit on both.
  const fieldIndex = (name: string): number => spec.fields.findIndex((f) => f.name === name);
  const seqVocabs = spec.sequences.map((s) => (s.kind === 'vocab' ? new CategoricalField(s.name, s.minCount)
    : s.kind === 'shared' ? vocabs[fieldIndex(s.vocab)] : undefined));
  const coder: RowCoder = {
    field(j, row) {
      const f = spec.fields[j]!;
      switch (f.kind) {
        case 'vocab': return vocabs[j]!.intern(row.fieldRaw[j]!);
        case 'hash': return hashFieldBucket(f, row.fieldRaw[j]!);
        case 'bucketize': return row.fieldLocal[j]!;
      }
    },
    token(q, token) {
      const s = spec.sequences[q]!;
      return s.kind === 'hash' ? hashBucket(token, s.buckets) : seqVocabs[q]!.intern(token);
    },
  };

  // Split modes last / time: the event source assigns each example its part (by its event's time).
  const eventSplit = cfg.split.mode === 'last' || cfg.split.mode === 'time' ? cfg.split : undefined;
  const store = new RowStore(spec.labels.length, spec.sequences.length, spec.weight !== undefined, spec.group, eventSplit !== undefined);
  const files: ReaderStats[] = [];
  const fileRows: FileRows = { train: 0, validation: 0, test: 0 };
  // A duckdb query has no file: its "file" is the query itself (the config rejects split mode files for it).
  const parts: [keyof FileRows, string | undefined][] = [['train', sourcePath(cfg.source) ?? 'query']];
  if (cfg.split.mode === 'files') parts.push(['validation', cfg.split.validation], ['test', cfg.split.test]);
  const ingestOptions: IngestOptions = {
    ...(cfg.workers === undefined ? {} : { workers: cfg.workers }), ...options, ...(eventSplit === undefined ? {} : { eventSplit }),
  };
  for (const [part, path] of parts) {
    if (path === undefined) continue;
    const before = store.numRows;
    files.push(await ingestFile(cfg.source, resolve(baseDir, path), baseDir, spec, true, store, coder, policy, ingestOptions));
    fileRows[part] = store.numRows - before;
  }

  const cols = store.take();
  const split = applySplit(cfg.split, cols, fileRows, F, spec.dense.length);
  const nFit = split.fit.end;

  const countTokens = (q: number, counts: Int32Array): void => {
    const { offsets, codes } = cols.sequences[q]!;
    for (let p = 0; p < offsets[nFit]!; p++) counts[codes[p]!]!++;
  };
  spec.fields.forEach((f, j) => {
    if (f.kind !== 'vocab') return;
    const v = vocabs[j]!;
    const sharers = spec.sequences.flatMap((s, q) => (s.kind === 'shared' && s.vocab === f.name ? [q] : []));
    const counts = new Int32Array(v.numCodes);
    for (let r = 0, p = j; r < nFit; r++, p += F) counts[cols.codes[p]!]!++;
    for (const q of sharers) countTokens(q, counts);
    v.fit(counts);
    f.vocabulary = [...v.vocabulary()];
  });
  spec.sequences.forEach((s, q) => {
    if (s.kind !== 'vocab') return;
    const v = seqVocabs[q]!;
    const counts = new Int32Array(v.numCodes);
    countTokens(q, counts);
    v.fit(counts);
    s.vocabulary = [...v.vocabulary()];
  });
  const D = spec.dense.length;
  spec.dense.forEach((s, d) => {
    if (s.transform !== 'standardize') return;
    const m = new RunningMoments();
    for (let r = 0; r < nFit; r++) m.add(cols.dense[r * D + d]!);
    s.mean = m.mean;
    s.std = m.std;
  });

  const fitted = new FittedSchema(spec);
  // Provisional codes -> global ids, in place.
  for (let j = 0; j < F; j++) {
    const o = fitted.fieldOffsets[j]!;
    const v = vocabs[j];
    const ids = cols.codes;
    for (let p = j; p < ids.length; p += F) ids[p] = o + (v === undefined ? ids[p]! : v.localId(ids[p]!));
  }
  cols.sequences.forEach(({ codes }, q) => {
    const o = fitted.sequenceOffsets[q]!;
    const v = seqVocabs[q];
    for (let p = 0; p < codes.length; p++) codes[p] = o + (v === undefined ? codes[p]! : v.localId(codes[p]!));
  });

  const dataset = fitted.toDataset(cols);
  const skippedExamples = files.flatMap((s) => s.skippedExamples);
  return {
    dataset,
    split,
    fitted,
    stats: { rows: dataset.numRows, skippedLines: files.reduce((a, s) => a + s.skipped, 0), skippedExamples, files },
  };
}
