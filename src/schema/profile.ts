/**
 * A data file checked against a `data` section: every row is encoded exactly as training would
 * encode it (vocabularies fit on the fit rows of the config's split), and each field reports its
 * cardinality, its out-of-vocabulary share and its missing share. The OOV share is what the
 * model will see as "unknown" on this data, which a raw profile of distinct values cannot tell.
 */
import { buildDataset, type BuildStats } from './build.js';
import type { DataConfig } from './config.js';
import type { IngestOptions } from './ingest.js';
import type { ParsedRow } from './rows.js';
import { specFromConfig } from './spec.js';

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

export async function profileWithSchema(cfg: DataConfig, baseDir: string, options: IngestOptions = {}): Promise<SchemaProfile> {
  const spec = specFromConfig(cfg);
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
  const { dataset: ds, fitted, stats } = await buildDataset(cfg, baseDir, { ...options, onRow });
  const n = ds.numRows;
  const share = (k: number, of: number): number => (of === 0 ? 0 : k / of);
  const fields: SchemaFieldProfile[] = [];
  spec.fields.forEach((f, j) => {
    const seen = new Set<number>();
    let oov = 0;
    const o = fitted.fieldOffsets[j]!;
    for (let p = j; p < ds.ids.length; p += F) {
      seen.add(ds.ids[p]!);
      if (ds.ids[p] === o) oov++;
    }
    const vocab = fitted.spec.fields[j]!;
    fields.push({
      name: f.name, kind: 'id', cardinality: seen.size,
      ...(vocab.kind === 'vocab' ? { vocabulary: vocab.vocabulary.length } : {}),
      oovShare: vocab.kind === 'vocab' ? share(oov, n) : null,
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
    let oov = 0;
    for (const id of col.ids) if (id === o) oov++;
    const vocab = fitted.spec.sequences[q]!;
    fields.push({
      name: s.name, kind: 'sequence', cardinality: seen.size,
      ...(vocab.kind === 'vocab' ? { vocabulary: vocab.vocabulary.length } : {}),
      oovShare: vocab.kind === 'vocab' ? share(oov, col.ids.length) : null,
      missingShare: share(missing[F + D + q]!, n),
    });
  });
  const labels = ds.labels.map((y, k) => ({ name: ds.labelNames[k]!, rate: share(y.reduce((a, v) => a + v, 0), n) }));
  return { rows: n, labels, fields, stats };
}
