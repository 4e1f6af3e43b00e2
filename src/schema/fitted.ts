import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import type { FeatureInfo } from '../data/features.js';
import { ColumnProjection } from '../data/projection.js';
import { CategoricalField, LogBucketField, type RawValue } from '../data/prep/field.js';
import { ConfigError } from './errors.js';
import { formatIssues } from './config.js';
import { hashBucket } from './hash.js';
import { specSize, type IdFieldSpec, type SchemaSpec } from './spec.js';
import type { StoredColumns } from './store.js';

/*
 * Everything learned from the fit rows, in a form that encodes any later file exactly as the
 * training data was encoded. Serialised compactly into the model manifest: vocabularies are arrays
 * of tokens in id order (token i has local id i + 1; 0 is OOV).
 */

const SCHEMA_VERSION = 1;

const base = { name: z.string(), column: z.string(), privileged: z.boolean(), group: z.string().optional() };
const IdFieldJson = z.discriminatedUnion('kind', [
  z.strictObject({
    ...base, kind: z.literal('vocab'), logBucket: z.boolean(), minCount: z.number().int().min(1), vocabulary: z.array(z.string()),
    required: z.literal(true).optional(), capacity: z.number().int().min(1).optional(),
  }).refine((f) => f.capacity === undefined || f.vocabulary.length <= f.capacity, { message: 'a vocabulary longer than its capacity' }),
  z.strictObject({ ...base, kind: z.literal('hash'), buckets: z.number().int().min(1), logBucket: z.literal(true).optional() }),
  z.strictObject({ ...base, kind: z.literal('bucketize'), boundaries: z.array(z.number()) }),
]);
const seqBase = {
  ...base, separator: z.string().min(1), maxLength: z.number().int().min(1).optional(), columns: z.array(z.string()).min(1).optional(),
};
const SequenceJson = z.discriminatedUnion('kind', [
  z.strictObject({ ...seqBase, kind: z.literal('shared'), vocab: z.string() }),
  z.strictObject({ ...seqBase, kind: z.literal('vocab'), minCount: z.number().int().min(1), vocabulary: z.array(z.string()) }),
  z.strictObject({ ...seqBase, kind: z.literal('hash'), buckets: z.number().int().min(1) }),
]);
const scalar = z.union([z.string(), z.number()]);
const FittedJson = z.strictObject({
  version: z.literal(SCHEMA_VERSION),
  labels: z.array(z.strictObject({
    name: z.string(), column: z.string(), type: z.enum(['binary', 'graded']),
    positive: z.strictObject({
      equals: scalar.optional(), oneOf: z.array(scalar).optional(), contains: z.string().optional(),
      greaterThan: z.number().optional(), atLeast: z.number().optional(),
    }).optional(),
  })),
  fields: z.array(IdFieldJson),
  dense: z.array(z.strictObject({ ...base, transform: z.enum(['identity', 'log', 'standardize']), mean: z.number(), std: z.number() })),
  sequences: z.array(SequenceJson),
  group: z.string().optional(),
  weight: z.string().optional(),
  /** Redundant (derivable from the vocabularies), kept to detect a manifest edited by hand. */
  numIds: z.number().int().min(0),
});

/** The JSON form of a FittedSchema (what goes into the model manifest). */
export type FittedSchemaJSON = z.output<typeof FittedJson>;

const logBucketTokens = new LogBucketField('');

/** Local id of a hashed id field for a parsed value (training and every later encoding go through here). */
export function hashFieldBucket(f: Extract<IdFieldSpec, { kind: 'hash' }>, raw: RawValue): number {
  return hashBucket(f.logBucket === true ? logBucketTokens.token(raw) : raw as string, f.buckets);
}

const INT_RE = /^[+-]?\d+$/;

/**
 * A log-bucket vocabulary field's id for a parsed value (integer text, a number, '' = missing), the
 * id of `tokens.token(raw)`'s text without making that text: the bucket is looked up as a number
 * among the tokens that are a number's canonical text (String(Number(t)) === t). Equal to the text
 * lookup, since String(x) is such a token exactly when Number(String(x)) is x (±0 print alike).
 * Values the text rule treats specially (missing, text that is no safe integer ≤ 2) take it.
 */
function logBucketCoder(o: number, vocabulary: readonly string[], lookup: ReadonlyMap<string, number>, tokens: CategoricalField): (raw: RawValue) => number {
  const byNumber = new Map<number, number>();
  vocabulary.forEach((t, i) => {
    if (t.length > 0 && String(Number(t)) === t) byNumber.set(Number(t), i + 1);
  });
  const text = (raw: RawValue): number => o + (lookup.get(tokens.token(raw)) ?? 0);
  // logBucketValue's rule: v > 2 → floor(ln(v)²), else v itself.
  const bucket = (v: number): number => {
    if (v > 2) {
      const l = Math.log(v);
      return o + (byNumber.get(Math.floor(l * l)) ?? 0);
    }
    return o + (byNumber.get(v) ?? 0);
  };
  return (raw) => {
    if (typeof raw === 'number') return Number.isNaN(raw) ? text(raw) : bucket(raw);
    if (raw.length === 0 || !INT_RE.test(raw)) return text(raw);
    const v = Number(raw);
    return v <= 2 && !Number.isSafeInteger(v) ? text(raw) : bucket(v);
  };
}

/** Index of the vocabulary field a shared sequence names (a ConfigError otherwise: a hand-edited manifest). */
function sharedOwner(spec: SchemaSpec, vocab: string, seq: string): number {
  const j = spec.fields.findIndex((f) => f.name === vocab);
  if (j < 0 || spec.fields[j]!.kind !== 'vocab') {
    throw new ConfigError([`fitted schema: sequences: ${seq}: vocab ${JSON.stringify(vocab)} is not a vocabulary field of the schema`]);
  }
  return j;
}

export class FittedSchema {
  readonly spec: SchemaSpec;
  /** First global id of each id field, then of each sequence: one shared embedding table. */
  readonly fieldOffsets: Int32Array;
  readonly fieldSizes: Int32Array;
  readonly sequenceOffsets: Int32Array;
  readonly sequenceSizes: Int32Array;
  readonly numIds: number;
  private readonly lookups: (Map<string, number> | undefined)[];
  private readonly tokenizers: (CategoricalField | undefined)[];
  private readonly seqLookups: (Map<string, number> | undefined)[];
  /** fieldId of each id field, its kind and tables resolved once (every row of every file and request goes through here). */
  private readonly fieldCoders: ((raw: RawValue, local: number) => number)[];

  /** `spec` must be fitted (vocabularies and dense statistics filled in). */
  constructor(spec: SchemaSpec) {
    this.spec = spec;
    this.fieldSizes = Int32Array.from(spec.fields, specSize);
    this.sequenceSizes = Int32Array.from(spec.sequences, specSize);
    this.fieldOffsets = new Int32Array(spec.fields.length);
    this.sequenceOffsets = new Int32Array(spec.sequences.length);
    let off = 0;
    spec.fields.forEach((_, j) => { this.fieldOffsets[j] = off; off += this.fieldSizes[j]!; });
    const owners = spec.sequences.map((s) => (s.kind === 'shared' ? sharedOwner(spec, s.vocab, s.name) : -1));
    spec.sequences.forEach((_, q) => {
      const j = owners[q]!;
      // A shared sequence owns no rows: its ids are its owner field's.
      if (j >= 0) {
        this.sequenceOffsets[q] = this.fieldOffsets[j]!;
        this.sequenceSizes[q] = this.fieldSizes[j]!;
        return;
      }
      this.sequenceOffsets[q] = off;
      off += this.sequenceSizes[q]!;
    });
    this.numIds = off;
    const index = (vocab: readonly string[]): Map<string, number> => new Map(vocab.map((t, i) => [t, i + 1]));
    this.lookups = spec.fields.map((f) => (f.kind === 'vocab' ? index(f.vocabulary) : undefined));
    // Only token() of these is used: the tokenising rules of src/data/prep, never their vocabularies.
    this.tokenizers = spec.fields.map((f) =>
      f.kind === 'vocab' ? (f.logBucket ? new LogBucketField(f.name) : new CategoricalField(f.name)) : undefined);
    this.seqLookups = spec.sequences.map((s, q) => (s.kind === 'vocab' ? index(s.vocabulary)
      : s.kind === 'shared' ? this.lookups[owners[q]!] : undefined));
    this.fieldCoders = spec.fields.map((f, j) => {
      const o = this.fieldOffsets[j]!;
      switch (f.kind) {
        case 'vocab': {
          const lookup = this.lookups[j]!;
          const tokens = this.tokenizers[j]!;
          if (f.logBucket) return logBucketCoder(o, f.vocabulary, lookup, tokens);
          // A categorical token is the text itself (what CategoricalField.token returns for a string).
          return (raw) => o + (lookup.get(typeof raw === 'string' ? raw : tokens.token(raw)) ?? 0);
        }
        case 'hash': return (raw) => o + hashFieldBucket(f, raw);
        case 'bucketize': return (_raw, local) => o + local;
      }
    });
  }

  /** Every feature by name: kind, group, where a batch holds it, its id range (the models' input interface). */
  features(): FeatureInfo[] {
    const { fields, dense, sequences } = this.spec;
    const grp = (f: { group?: string }): { group?: string } => (f.group === undefined ? {} : { group: f.group });
    return [
      ...fields.map((f, j): FeatureInfo => ({ name: f.name, kind: 'id', index: j, ...grp(f), offset: this.fieldOffsets[j]!, size: this.fieldSizes[j]! })),
      ...dense.map((f, d): FeatureInfo => ({ name: f.name, kind: 'dense', index: d, ...grp(f) })),
      ...sequences.map((s, q): FeatureInfo => ({
        name: s.name, kind: 'sequence', index: q, ...grp(s), offset: this.sequenceOffsets[q]!, size: this.sequenceSizes[q]!,
        ...(s.kind === 'shared' ? { vocab: s.vocab } : {}),
      })),
    ];
  }

  /** The token a vocabulary field j looks up for a parsed value (its tokenising rule: the raw string, or the log bucket). */
  vocabToken(j: number, raw: RawValue): string {
    const t = this.tokenizers[j];
    if (t === undefined) throw new Error(`FittedSchema.vocabToken: field ${this.spec.fields[j]?.name} has no vocabulary`);
    return t.token(raw);
  }

  /** Global id of id field j for a parsed value (raw value of a vocabulary field or hash token, or local id). */
  fieldId(j: number, raw: RawValue, local: number): number {
    return this.fieldCoders[j]!(raw, local);
  }

  /** Global id of a token of sequence q. */
  sequenceId(q: number, token: string): number {
    const s = this.spec.sequences[q]!;
    const local = s.kind === 'hash' ? hashBucket(token, s.buckets) : this.seqLookups[q]!.get(token) ?? 0;
    return this.sequenceOffsets[q]! + local;
  }

  /** Names of the fields only a teacher may see. */
  privileged(): string[] {
    return [...this.spec.fields, ...this.spec.dense, ...this.spec.sequences].filter((f) => f.privileged).map((f) => f.name);
  }

  /**
   * The schema a student reads: this one without its privileged fields, and the projection that
   * turns this schema's datasets and batches into the student's (ids re-addressed to its smaller
   * embedding table). Undefined when nothing is privileged.
   */
  withoutPrivileged(): { fitted: FittedSchema; projection: ColumnProjection } | undefined {
    const { spec } = this;
    if (this.privileged().length === 0) return undefined;
    const keep = <T extends { privileged: boolean }>(xs: readonly T[]): number[] => xs.flatMap((x, i) => (x.privileged ? [] : [i]));
    const [fields, dense, sequences] = [keep(spec.fields), keep(spec.dense), keep(spec.sequences)];
    const student = new FittedSchema({
      ...spec, fields: fields.map((j) => spec.fields[j]!), dense: dense.map((d) => spec.dense[d]!), sequences: sequences.map((q) => spec.sequences[q]!),
    });
    const projection = new ColumnProjection({
      fields: fields.map((j, k) => ({ from: j, shift: student.fieldOffsets[k]! - this.fieldOffsets[j]! })),
      dense,
      sequences: sequences.map((q, k) => ({ from: q, shift: student.sequenceOffsets[k]! - this.sequenceOffsets[q]! })),
      numIds: student.numIds,
      fieldNames: student.spec.fields.map((f) => f.name),
      denseNames: student.spec.dense.map((f) => f.name),
    });
    return { fitted: student, projection };
  }

  /**
   * The Dataset of stored columns whose codes are already global ids (dense values are standardised
   * here). Takes ownership of the arrays.
   */
  toDataset(cols: StoredColumns): Dataset {
    const { spec } = this;
    const D = spec.dense.length;
    const ds: Dataset = {
      numRows: cols.numRows,
      numFields: spec.fields.length,
      fieldNames: spec.fields.map((f) => f.name),
      ids: cols.codes,
      fieldSizes: this.fieldSizes.slice(),
      fieldOffsets: this.fieldOffsets.slice(),
      numIds: this.numIds,
      labels: cols.labels,
      labelNames: cols.labels.length === 0 ? [] : spec.labels.map((l) => l.name),
    };
    if (cols.weights !== undefined) ds.weights = cols.weights;
    if (D > 0) {
      const dense = new Float32Array(cols.numRows * D);
      for (let d = 0; d < D; d++) {
        const s = spec.dense[d]!;
        for (let p = d; p < dense.length; p += D) {
          const x = cols.dense[p]!;
          // Missing values become 0 after the transform: the mean of a standardised column.
          dense[p] = Number.isNaN(x) ? 0 : s.transform === 'standardize' ? (x - s.mean) / s.std : x;
        }
      }
      ds.dense = dense;
      ds.denseNames = spec.dense.map((s) => s.name);
    }
    if (spec.sequences.length > 0) {
      ds.sequences = cols.sequences.map((c, q) => ({ name: spec.sequences[q]!.name, offsets: c.offsets, ids: c.codes }));
    }
    if (cols.groupOffsets !== undefined) ds.groupOffsets = cols.groupOffsets;
    const priv = this.privileged();
    if (priv.length > 0) ds.privileged = priv;
    return ds;
  }

  toJSON(): FittedSchemaJSON {
    const { labels, fields, dense, sequences, group, weight } = this.spec;
    const out: FittedSchemaJSON = { version: SCHEMA_VERSION, labels, fields, dense, sequences, numIds: this.numIds };
    if (group !== undefined) out.group = group;
    if (weight !== undefined) out.weight = weight;
    return out;
  }

  /** Rebuilds a fitted schema from toJSON()'s object (or its parsed JSON text). Throws ConfigError. */
  static fromJSON(obj: unknown, where = 'fitted schema'): FittedSchema {
    const r = FittedJson.safeParse(obj);
    if (!r.success) throw new ConfigError(formatIssues(r.error.issues, where, ''));
    const { version: _v, numIds, ...spec } = r.data;
    const fitted = new FittedSchema(spec);
    if (fitted.numIds !== numIds) {
      throw new ConfigError([`${where}: numIds: ${numIds} does not match the vocabularies (${fitted.numIds} ids)`]);
    }
    return fitted;
  }
}
