/**
 * A data file checked against a `data` section: every row is encoded exactly as training would
 * encode it (vocabularies fit on the fit rows of the config's split), and each field reports its
 * cardinality, its out-of-vocabulary share and its missing share. The OOV share is what the
 * model will see as "unknown" on this data, which a raw profile of distinct values cannot tell.
 * Against a trained model's fitted schema (profileWithFitted) it is the drift check: the share of
 * a later file's tokens that model never saw.
 */
import type { Dataset } from '../data/dataset.js';
import { buildDataset, type BuildStats } from './build.js';
import type { DataConfig, SourceConfig } from './config.js';
import { encodeFile, type EncodeFileOptions } from './encodeFile.js';
import type { FittedSchema } from './fitted.js';
import type { IngestOptions } from './ingest.js';
import type { ParsedRow } from './rows.js';
import { specFromConfig, type SchemaSpec } from './spec.js';

export interface SchemaFieldProfile {
  name: string;
  /** id (one id per row), dense (a number per row) or sequence (ids per row). */
  kind: 'id' | 'dense' | 'sequence';
  /** Distinct ids (id fields, sequences) or distinct values (dense) over all rows. */
  cardinality: number;
  /** Vocabulary size fit on the fit rows (vocabulary fields only). */
  vocabulary?: number;
  /** Share of values (rows; tokens for sequences) outside the vocabulary; null without a vocabulary. */
  oovShare: number | null;
  /** Share of rows whose value is missing (empty / NULL; no tokens for sequences). */
  missingShare: number;
}

export interface SchemaProfile {
  rows: number;
  labels: { name: string; rate: number }[];
  fields: SchemaFieldProfile[];
  stats: BuildStats;
}

const isMissing = (v: string | number): boolean => (typeof v === 'number' ? Number.isNaN(v) : v.length === 0);

/** Counts missing values per field (id, dense, sequence order) and distinct dense values, row by row. */
function missingCounter(spec: SchemaSpec): { onRow: (row: ParsedRow) => void; missing: Float64Array; denseValues: Set<number>[] } {
  const F = spec.fields.length;
  const D = spec.dense.length;
  const S = spec.sequences.length;
  const missing = new Float64Array(F + D + S);
  const denseValues = Array.from({ length: D }, () => new Set<number>());
  const onRow = (row: ParsedRow): void => {
    for (let j = 0; j < F; j++) {
      if (spec.fields[j]!.kind === 'bucketize' ? row.fieldLocal[j] === 0 : isMissing(row.fieldRaw[j]!)) missing[j]!++;
    }
    for (let d = 0; d < D; d++) {
      const x = row.dense[d]!;
      if (Number.isNaN(x)) missing[F + d]!++;
      else denseValues[d]!.add(x);
    }
    for (let q = 0; q < S; q++) if (row.tokens[q]!.length === 0) missing[F + D + q]!++;
  };
  return { onRow, missing, denseValues };
}

const share = (k: number, of: number): number => (of === 0 ? 0 : k / of);

/** Share of rows of each vocabulary id field whose id is the field's OOV id (null for hashed / bucketized fields). */
export function oovShares(fitted: FittedSchema, ds: Dataset): { name: string; oovShare: number | null }[] {
  const F = fitted.spec.fields.length;
  return fitted.spec.fields.map((f, j) => {
    if (f.kind !== 'vocab') return { name: f.name, oovShare: null };
    const o = fitted.fieldOffsets[j]!;
    let oov = 0;
    for (let p = j; p < ds.ids.length; p += F) if (ds.ids[p] === o) oov++;
    return { name: f.name, oovShare: share(oov, ds.numRows) };
  });
}

function summarise(fitted: FittedSchema, ds: Dataset, counted: ReturnType<typeof missingCounter>): Omit<SchemaProfile, 'stats'> {
  const { spec } = fitted;
  const { missing, denseValues } = counted;
  const F = spec.fields.length;
  const D = spec.dense.length;
  const n = ds.numRows;
  const oov = oovShares(fitted, ds);
  const fields: SchemaFieldProfile[] = [];
  spec.fields.forEach((f, j) => {
    const seen = new Set<number>();
    for (let p = j; p < ds.ids.length; p += F) seen.add(ds.ids[p]!);
    fields.push({
      name: f.name, kind: 'id', cardinality: seen.size,
      ...(f.kind === 'vocab' ? { vocabulary: f.vocabulary.length } : {}),
      oovShare: oov[j]!.oovShare,
      missingShare: share(missing[j]!, n),
    });
  });
  spec.dense.forEach((s, d) => fields.push({
    name: s.name, kind: 'dense', cardinality: denseValues[d]!.size, oovShare: null, missingShare: share(missing[F + d]!, n),
  }));
  spec.sequences.forEach((s, q) => {
    const col = ds.sequences![q]!;
    const seen = new Set<number>(col.ids);
    const o = fitted.sequenceOffsets[q]!;
    let oovTokens = 0;
    for (const id of col.ids) if (id === o) oovTokens++;
    fields.push({
      name: s.name, kind: 'sequence', cardinality: seen.size,
      // A shared sequence's vocabulary is its owner field's (its size less the OOV row).
      ...(s.kind === 'hash' ? {} : { vocabulary: fitted.sequenceSizes[q]! - 1 }),
      oovShare: s.kind === 'hash' ? null : share(oovTokens, col.ids.length),
      missingShare: share(missing[F + D + q]!, n),
    });
  });
  const labels = ds.labels.map((y, k) => ({ name: ds.labelNames[k]!, rate: share(y.reduce((a, v) => a + v, 0), n) }));
  return { rows: n, labels, fields };
}

/** The file profiled with vocabularies refit on the config's fit rows (what a model trained on this file would see). */
export async function profileWithSchema(cfg: DataConfig, baseDir: string, options: IngestOptions = {}): Promise<SchemaProfile> {
  const counted = missingCounter(specFromConfig(cfg));
  const { dataset, fitted, stats } = await buildDataset(cfg, baseDir, { ...options, onRow: counted.onRow });
  return { ...summarise(fitted, dataset, counted), stats };
}

/**
 * The drift check: the file encoded with a trained model's fitted schema, so the OOV share is what
 * that model sees on it (tokens it never trained on), not what a refit on the file would give.
 */
export async function profileWithFitted(fitted: FittedSchema, source: SourceConfig,
  options: Omit<EncodeFileOptions, 'onRow' | 'rowIds'> = {}): Promise<SchemaProfile & { headerless: boolean }> {
  const counted = missingCounter(fitted.spec);
  const { dataset, stats, headerless } = await encodeFile(fitted, source, { ...options, onRow: counted.onRow });
  return {
    ...summarise(fitted, dataset, counted), headerless,
    stats: { rows: stats.rows, skippedLines: stats.skipped, skippedExamples: stats.skippedExamples, files: [stats] },
  };
}
