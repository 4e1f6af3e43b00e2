import type { DataConfig, PositiveRule } from './config.js';

/*
 * The resolved form of a `data` section: every input column named, every field put in the column
 * of the Dataset it ends up in (id field, dense column, sequence). The fitted schema is this shape
 * plus what was learned from the fit rows, so one row parser serves training and prediction.
 */

interface ColumnSpec {
  name: string;
  column: string;
  privileged: boolean;
  /** Feature group (absent when not configured, so older manifests read the same). */
  group?: string;
}

/** A single-valued field that becomes one embedding id per row. */
export type IdFieldSpec = ColumnSpec & (
  /**
   * Min-count vocabulary fit on the fit rows; local id 0 = OOV, token i of `vocabulary` = i + 1.
   * `capacity`: a vocabulary grown on a stream (src/schema/growingVocab.ts): the table has
   * capacity + 1 rows whatever the vocabulary's length, so it can admit ids without a new model shape.
   */
  | { kind: 'vocab'; logBucket: boolean; minCount: number; vocabulary: string[]; required?: true; capacity?: number }
  /**
   * FNV-1a bucket of the token; no OOV (every token has a bucket). `logBucket`: the token is the
   * log bucket of the value (a log-bucket field hashed, as online training does: src/schema/online.ts).
   */
  | { kind: 'hash'; buckets: number; logBucket?: true }
  /** 1 + bucket index among `boundaries`; 0 = missing. */
  | { kind: 'bucketize'; boundaries: number[] }
);

export interface DenseSpec extends ColumnSpec {
  transform: 'identity' | 'log' | 'standardize';
  /** Fit-row statistics of the value (standardize only; 0 and 1 otherwise). */
  mean: number;
  std: number;
}

export type SequenceSpec = ColumnSpec & {
  separator: string;
  /** Only the last maxLength tokens are kept: behaviour logs are chronological, recent ones matter most. */
  maxLength?: number | undefined;
  /** One token per column, oldest first, instead of the separated tokens of `column`. */
  columns?: string[];
} & (
  | { kind: 'vocab'; minCount: number; vocabulary: string[] }
  | { kind: 'hash'; buckets: number }
  /** The vocabulary and id range of id field `vocab` (a vocabulary field). */
  | { kind: 'shared'; vocab: string }
);

export interface LabelSpec {
  name: string;
  column: string;
  type: 'binary' | 'graded';
  positive?: PositiveRule | undefined;
}

export interface SchemaSpec {
  labels: LabelSpec[];
  fields: IdFieldSpec[];
  dense: DenseSpec[];
  sequences: SequenceSpec[];
  group?: string | undefined;
  weight?: string | undefined;
}

/** Vocabulary fields keep tokens seen at least this often in the fit rows (torch_ref's rule). */
export const DEFAULT_MIN_COUNT = 2;

/** Splits the configured fields into id fields, dense columns and sequences, in config order. */
export function specFromConfig(cfg: DataConfig): SchemaSpec {
  const spec: SchemaSpec = {
    // Absent options are left out rather than set to undefined: the spec is serialised and compared.
    labels: cfg.labels.map((l) => ({
      name: l.name, column: l.column ?? l.name, type: l.type, ...(l.positive === undefined ? {} : { positive: l.positive }),
    })),
    fields: [],
    dense: [],
    sequences: [],
  };
  if (cfg.group !== undefined) spec.group = cfg.group;
  if (cfg.weight !== undefined) spec.weight = cfg.weight;
  for (const f of cfg.fields) {
    const base = { name: f.name, column: f.column ?? f.name, privileged: f.privileged, ...(f.group === undefined ? {} : { group: f.group }) };
    switch (f.kind) {
      case 'categorical':
        spec.fields.push(f.hashBuckets !== undefined
          ? { ...base, kind: 'hash', buckets: f.hashBuckets }
          : { ...base, kind: 'vocab', logBucket: false, minCount: f.minCount ?? DEFAULT_MIN_COUNT, vocabulary: [], ...(f.required === true ? { required: true } : {}) });
        break;
      case 'numeric':
        if (f.transform === 'log-bucket') {
          spec.fields.push({ ...base, kind: 'vocab', logBucket: true, minCount: f.minCount ?? DEFAULT_MIN_COUNT, vocabulary: [] });
        } else if (f.transform === 'bucketize') {
          spec.fields.push({ ...base, kind: 'bucketize', boundaries: f.boundaries ?? [] });
        } else {
          spec.dense.push({ ...base, transform: f.transform, mean: 0, std: 1 });
        }
        break;
      case 'sequence': {
        const seq = {
          ...base, separator: f.separator, ...(f.maxLength === undefined ? {} : { maxLength: f.maxLength }),
          ...(f.columns === undefined ? {} : { columns: f.columns }),
        };
        spec.sequences.push(f.vocab !== undefined ? { ...seq, kind: 'shared', vocab: f.vocab }
          : f.hashBuckets !== undefined ? { ...seq, kind: 'hash', buckets: f.hashBuckets }
            : { ...seq, kind: 'vocab', minCount: f.minCount ?? DEFAULT_MIN_COUNT, vocabulary: [] });
        break;
      }
    }
  }
  return spec;
}

/** Table rows of an id field or sequence (its vocabulary must be fitted; a shared one owns none). */
export function specSize(s: IdFieldSpec | SequenceSpec): number {
  switch (s.kind) {
    case 'vocab': return ('capacity' in s && s.capacity !== undefined ? s.capacity : s.vocabulary.length) + 1;
    case 'hash': return s.buckets;
    case 'bucketize': return s.boundaries.length + 2;
    case 'shared': return 0;
  }
}

/** The input columns of a sequence, oldest token first when there are several. */
export function sequenceColumns(s: SequenceSpec): string[] {
  return s.columns ?? [s.column];
}

/** Input columns the spec reads, each with the config key that needs it (for error messages). */
export function specColumns(spec: SchemaSpec, withLabels: boolean): { column: string; usedBy: string }[] {
  const out: { column: string; usedBy: string }[] = [];
  if (withLabels) for (const l of spec.labels) out.push({ column: l.column, usedBy: `label ${l.name}` });
  for (const f of [...spec.fields, ...spec.dense]) out.push({ column: f.column, usedBy: `field ${f.name}` });
  for (const s of spec.sequences) for (const column of sequenceColumns(s)) out.push({ column, usedBy: `field ${s.name}` });
  if (spec.group !== undefined) out.push({ column: spec.group, usedBy: 'group' });
  if (spec.weight !== undefined) out.push({ column: spec.weight, usedBy: 'weight' });
  return out;
}
