import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/*
 * The `data` section of an experiment configuration. Objects are strict: a misspelt key is an error
 * rather than a silently ignored option, which is the most common way a config "does nothing".
 * docs/config.md documents every key.
 */

const name = z.string().min(1);
const positiveInt = z.number().int().min(1);
const ratio = z.tuple([z.number().int().min(0), positiveInt]);

const ruleKeys = {
  equals: z.union([z.string(), z.number()]).optional(),
  oneOf: z.array(z.union([z.string(), z.number()])).min(1).optional(),
  contains: z.string().min(1).optional(),
  greaterThan: z.number().optional(),
  atLeast: z.number().optional(),
};
const oneRule = (r: Record<string, unknown>): boolean => Object.keys(ruleKeys).filter((k) => r[k] !== undefined).length === 1;
const oneRuleMessage = { message: 'give exactly one of equals, oneOf, contains, greaterThan, atLeast' };
const positiveRule = z.strictObject(ruleKeys).refine(oneRule, oneRuleMessage);

const criteoSource = z.strictObject({ format: z.literal('criteo'), path: name });
/** How a delimited text file is read (csv, and the log of an events source). */
const csvKeys = {
  path: name,
  header: z.boolean().default(true),
  columns: z.array(name).min(1).optional(),
  delimiter: z.string().length(1).default(','),
  trim: z.boolean().default(false),
};
const csvSource = z.strictObject({ format: z.literal('csv'), ...csvKeys });
const ipinyouSource = z.strictObject({ format: z.literal('ipinyou'), path: name, featIndex: name });
const svmlightSource = z.strictObject({ format: z.literal('svmlight'), path: name });
/** Features and labels defined in SQL, read through DuckDB: a whole query ... */
const duckdbSource = z.strictObject({ format: z.literal('duckdb'), query: name });
/** ... or one Parquet / JSON file, optionally with `column: SQL expression` columns (then only those). */
const sqlFileSource = z.strictObject({
  format: z.enum(['parquet', 'json']),
  path: name,
  select: z.record(name, name).optional(),
});
/**
 * A time-ordered event log (CSV) turned into behaviour-sequence examples (src/data/events): the
 * source's columns are the log's, with the target item and its attributes, the histories and the
 * label derived per example. docs/config.md, "Behaviour sequences from an event log".
 */
const eventsSource = z.strictObject({
  format: z.literal('events'),
  ...csvKeys,
  /** Log columns: who, what, when (a number: unix seconds or any increasing unit). */
  user: name,
  item: name,
  time: name,
  /** Columns that describe the item (e.g. its category): a sampled negative takes its item's values. */
  itemColumns: z.array(name).default([]),
  /** grouped: the log comes grouped by user, ascending time within a user (checked, streamed); sort: read into memory and sorted. */
  order: z.enum(['grouped', 'sort']).default('grouped'),
  /** Which events are positive interactions; without it, every event. */
  positive: z.strictObject({ column: name, ...ruleKeys }).refine(oneRule, oneRuleMessage).optional(),
  /** positive: positive events are the examples (label 1) and negatives are sampled; all: every event, labelled by `positive`. */
  examples: z.enum(['positive', 'all']).default('positive'),
  negatives: z.strictObject({
    /** Items drawn per positive example, uniformly over the items first seen before its time, never the positive item. */
    perPositive: positiveInt,
    seed: z.number().int().default(1),
  }).optional(),
  history: z.strictObject({
    /** Output sequence column: the log column whose values it lists (e.g. `hist_item: item`). */
    columns: z.record(name, name).refine((r) => Object.keys(r).length > 0, 'give at least one history column'),
    /** Which earlier events the history lists: all, or the positive ones only. */
    include: z.enum(['all', 'positive']).default('all'),
    /** The most recent events kept. */
    maxLength: positiveInt,
    separator: z.string().min(1).default('|'),
  }),
  /** Events with fewer earlier history events are not examples (they still enter later histories). */
  minHistory: z.number().int().min(0).default(0),
  /** The derived 0/1 column (name it in `labels`). */
  label: name.default('label'),
});
export const SourceSchema = z.discriminatedUnion('format', [criteoSource, csvSource, ipinyouSource, svmlightSource, duckdbSource, sqlFileSource, eventsSource]);

/** Formats whose rows come through DuckDB (src/data/duckdb). */
export const DUCKDB_FORMATS = ['duckdb', 'parquet', 'json'] as const;
/** Formats the worker-thread parsers of src/data/parallel read. */
export const PARALLEL_FORMATS = ['criteo', 'csv', 'svmlight'] as const;

const keepProbability = z.number().gt(0, 'a keep probability must be > 0').max(1, 'a keep probability must be <= 1');

/** Loss-based sampling: keep probabilities clip(c·ℓ, pMin, 1) from a teacher's per-row loss ℓ, mean keepRate. */
const lossSamplingSchema = z.strictObject({
  /** A trained ctrkit model directory: its loss on each row, computed once (cached), sets the row's keep probability. */
  teacher: z.string({ error: 'give the teacher: a trained ctrkit model directory' }).min(1),
  /** The mean keep probability over the rows sampled. */
  keepRate: keepProbability,
  /** The least keep probability (a kept row weighs at most 1/pMin). */
  pMin: keepProbability.default(0.05),
  /** Keep every positive (probability 1). */
  keepPositives: z.boolean().default(false),
}).refine((l) => l.pMin <= l.keepRate, { message: 'pMin must not exceed keepRate', path: ['pMin'] });

/** Position-based sampling: rows beyond a position (or at listed positions) are kept with a probability < 1. */
const positionSamplingSchema = z.strictObject({
  /** The column holding the position (a number; read whether or not a field uses it). */
  column: name,
  /** Rows whose position is greater than this are kept with probability `rate`. */
  beyond: z.number().optional(),
  rate: keepProbability.optional(),
  /** Keep probability per position value (e.g. { "0": 1, "1": 0.5 }); overrides beyond / rate. */
  rates: z.record(z.string(), keepProbability).superRefine((rates, ctx) => {
    for (const k of Object.keys(rates)) {
      if (k.trim() === '' || !Number.isFinite(Number(k))) ctx.addIssue({ code: 'custom', message: `position ${JSON.stringify(k)} is not a number`, path: [k] });
    }
  }).optional(),
}).refine((p) => (p.beyond === undefined) === (p.rate === undefined), { message: 'give beyond and rate together', path: ['rate'] })
  .refine((p) => p.rate !== undefined || p.rates !== undefined, { message: 'give beyond and rate, or rates', path: ['rates'] });

const samplingSchema = z.strictObject({
  /** Keep each negative fit row with this probability (all positives are kept). */
  negativeRate: z.number().gt(0).max(1).optional(),
  /** Loss-based sampling (kept rows weigh 1/p). */
  loss: lossSamplingSchema.optional(),
  /** Position-based sampling (kept rows weigh 1/p). */
  position: positionSamplingSchema.optional(),
  /** Weight of positive fit rows (negatives weigh 1). */
  betaPos: z.number().positive().refine(Number.isFinite, 'must be finite').optional(),
  /** Seed of the row selection (default: the run's train.seed, so seeds also vary the sample). */
  seed: z.number().int().optional(),
});

const fileOrderSplit = z.strictObject({
  mode: z.literal('file-order'),
  /** Train share of all rows, as an integer ratio (Python's integer division is replicated). */
  train: ratio.default([8, 10]),
  /** Fit share of the train rows; the rest of the train rows is the validation split. */
  fit: ratio.default([9, 10]),
});
const randomSplit = z.strictObject({
  mode: z.literal('random'),
  validation: z.number().min(0).max(1),
  test: z.number().min(0).max(1),
  seed: z.number().int().default(1),
});
/**
 * `fit` (no validation file): the first floor(n * a / b) lists of the source file (its rows without
 * a group) are fit, the rest validation, as torch_clid_ref.py holds back its last 10 % of queries.
 */
const filesSplit = z.strictObject({ mode: z.literal('files'), validation: name.optional(), test: name.optional(), fit: ratio.optional() })
  .refine((s) => s.fit === undefined || s.validation === undefined, { message: 'fit cuts the validation rows out of the source file: give it or a validation file, not both', path: ['fit'] })
  .refine((s) => s.fit === undefined || (s.fit[0] > 0 && s.fit[0] <= s.fit[1]), { message: 'fit [a, b] needs 0 < a <= b', path: ['fit'] });
/** Event sources only: each user's last `test` example events are test, the `validation` before them validation. */
const lastSplit = z.strictObject({
  mode: z.literal('last'),
  validation: z.number().int().min(0).default(1),
  test: z.number().int().min(0).default(1),
});
/** Event sources only: examples at time >= `test` are test, at time >= `validation` validation (the time column's unit). */
const timeSplit = z.strictObject({ mode: z.literal('time'), validation: z.number(), test: z.number() })
  .refine((t) => t.validation <= t.test, { message: 'validation must not be after test (times: validation <= test)', path: ['validation'] });
export const SplitSchema = z.discriminatedUnion('mode', [fileOrderSplit, randomSplit, filesSplit, lastSplit, timeSplit]);


const LabelSchema = z.strictObject({
  name,
  column: name.optional(),
  /** binary: 0/1 (directly, or through `positive`); graded: any finite number (relevance grade). */
  type: z.enum(['binary', 'graded']).default('binary'),
  positive: positiveRule.optional(),
});

const common = {
  name, column: name.optional(), privileged: z.boolean().default(false),
  /** Feature group (user, item, context, … free names) by which models address fields. */
  group: name.optional(),
};

const categoricalField = z.strictObject({
  kind: z.literal('categorical'),
  ...common,
  minCount: positiveInt.optional(),
  hashBuckets: positiveInt.optional(),
  /** An empty value is a data error (file, line, field) instead of a token: e.g. DIN's target item. */
  required: z.boolean().optional(),
});

export const NUMERIC_TRANSFORMS = ['identity', 'log', 'log-bucket', 'bucketize', 'standardize'] as const;
const numericField = z.strictObject({
  kind: z.literal('numeric'),
  ...common,
  transform: z.enum(NUMERIC_TRANSFORMS).default('identity'),
  boundaries: z.array(z.number()).min(1).optional(),
  minCount: positiveInt.optional(),
});

const sequenceField = z.strictObject({
  kind: z.literal('sequence'),
  ...common,
  separator: z.string().min(1).default('|'),
  maxLength: positiveInt.optional(),
  minCount: positiveInt.optional(),
  hashBuckets: positiveInt.optional(),
  /**
   * Several columns, one token each, oldest first (empty values are absent events): a behaviour
   * history stored as item1..itemN columns. Excludes `column`.
   */
  columns: z.array(name).min(1).optional(),
  /**
   * The categorical field whose vocabulary and embedding rows this sequence uses: the clicked
   * items of a history and the candidate item are the same rows. Fit on both fields' tokens.
   */
  vocab: name.optional(),
});

const FieldSchema = z.discriminatedUnion('kind', [categoricalField, numericField, sequenceField]);

export const DataConfigSchema = z.strictObject({
  source: SourceSchema,
  split: SplitSchema.default({ mode: 'file-order', train: [8, 10], fit: [9, 10] }),
  labels: z.array(LabelSchema).min(1),
  fields: z.array(FieldSchema).min(1),
  /** Column whose runs of equal values are the lists (request / query / user) of ranking losses. */
  group: name.optional(),
  /** Column of per-row sample weights. */
  weight: name.optional(),
  onBadLine: z.enum(['error', 'skip']).default('error'),
  /** Directory of a binary cache of the encoded dataset, split and fitted schema (src/data/cache). */
  cache: name.optional(),
  /** Parse threads for criteo / csv / svmlight (0 = the calling thread; default: the number of cores). */
  workers: z.number().int().min(0).optional(),
  /** Downsampling / weighting of the fit rows only; validation and test rows are never sampled. */
  sampling: samplingSchema.optional(),
}).superRefine((cfg, ctx) => {
  const seen = new Map<string, string>();
  const claim = (n: string, path: (string | number)[]): void => {
    const prev = seen.get(n);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path, message: `name ${JSON.stringify(n)} is already used by ${prev}` });
    else seen.set(n, formatPath('data', path));
  };
  cfg.labels.forEach((l, i) => claim(l.name, ['labels', i, 'name']));
  cfg.fields.forEach((f, i) => {
    const at = (key: string): (string | number)[] => ['fields', i, key];
    claim(f.name, at('name'));
    if (f.kind === 'sequence') checkSequence(cfg.fields, f, at, ctx);
    if (f.kind !== 'numeric' && f.minCount !== undefined && f.hashBuckets !== undefined) {
      ctx.addIssue({ code: 'custom', path: at('hashBuckets'), message: 'hashBuckets and minCount exclude each other (hashing has no vocabulary)' });
    }
    if (f.kind === 'numeric') {
      if (f.transform === 'bucketize') {
        if (f.boundaries === undefined) ctx.addIssue({ code: 'custom', path: at('boundaries'), message: 'transform bucketize needs boundaries' });
        else if (f.boundaries.some((b, k) => k > 0 && !(b > f.boundaries![k - 1]!))) {
          ctx.addIssue({ code: 'custom', path: at('boundaries'), message: 'boundaries must be strictly increasing' });
        }
      } else if (f.boundaries !== undefined) {
        ctx.addIssue({ code: 'custom', path: at('boundaries'), message: `boundaries only apply to transform bucketize, not ${f.transform}` });
      }
      if (f.minCount !== undefined && f.transform !== 'log-bucket') {
        ctx.addIssue({ code: 'custom', path: at('minCount'), message: `minCount only applies to transform log-bucket (a vocabulary), not ${f.transform}` });
      }
    }
  });
  if ((cfg.source.format === 'criteo' || cfg.source.format === 'ipinyou') && cfg.group !== undefined) {
    // Criteo / iPinYou rows carry no list id; a group on them would be a misunderstanding.
    ctx.addIssue({ code: 'custom', path: ['group'], message: `format ${cfg.source.format} has no group column` });
  }
  if ((cfg.split.mode === 'last' || cfg.split.mode === 'time') && cfg.source.format !== 'events') {
    ctx.addIssue({ code: 'custom', path: ['split', 'mode'], message: `split mode ${cfg.split.mode} needs source format events (it splits examples by their event times)` });
  }
  if (cfg.source.format === 'events') checkEvents(cfg.source, cfg.fields, ctx);
  if (cfg.source.format === 'duckdb' && cfg.split.mode === 'files') {
    // A query is one source; extra files would have to be spliced into it, which only the query can say.
    ctx.addIssue({ code: 'custom', path: ['split', 'mode'], message: 'split mode files needs file sources; with format duckdb, split inside the query or use file-order / random' });
  }
});

type FieldCfg = z.output<typeof FieldSchema>;

function checkEvents(src: z.output<typeof eventsSource>, fields: readonly FieldCfg[], ctx: z.RefinementCtx): void {
  const at = (...path: (string | number)[]): (string | number)[] => ['source', ...path];
  if (src.examples === 'positive' && src.negatives === undefined) {
    ctx.addIssue({ code: 'custom', path: at('negatives'), message: 'examples: positive gives only positive rows; add negatives: { perPositive: k } or use examples: all' });
  }
  if (src.examples === 'all' && src.positive === undefined) {
    ctx.addIssue({ code: 'custom', path: at('positive'), message: 'examples: all labels each event by the positive rule; give positive: { column, … }' });
  }
  const logColumns = new Set([src.user, src.item, src.time, ...src.itemColumns, ...(src.columns ?? [])]);
  for (const [out, col] of Object.entries(src.history.columns)) {
    if (logColumns.has(out) || out === src.label) {
      ctx.addIssue({ code: 'custom', path: at('history', 'columns', out), message: `history column ${JSON.stringify(out)} would hide the log column or label of that name` });
    }
    // A history is handed to its sequence field as joined text: the separators must agree.
    const f = fields.find((x) => x.kind === 'sequence' && x.columns === undefined && (x.column ?? x.name) === out);
    if (f?.kind === 'sequence' && f.separator !== src.history.separator) {
      ctx.addIssue({ code: 'custom', path: at('history', 'separator'), message: `field ${f.name} reads history ${out} (from ${col}) with separator ${JSON.stringify(f.separator)}; they must be the same` });
    }
  }
  if (logColumns.has(src.label)) ctx.addIssue({ code: 'custom', path: at('label'), message: `label column ${JSON.stringify(src.label)} would hide the log column of that name` });
}

function checkSequence(fields: readonly FieldCfg[], f: z.output<typeof sequenceField>, at: (key: string) => (string | number)[],
  ctx: z.RefinementCtx): void {
  if (f.columns !== undefined && f.column !== undefined) ctx.addIssue({ code: 'custom', path: at('columns'), message: 'give column or columns, not both' });
  if (f.vocab === undefined) return;
  const owner = fields.find((o) => o.name === f.vocab);
  if (owner === undefined || owner.kind !== 'categorical') {
    const cats = fields.filter((o) => o.kind === 'categorical').map((o) => o.name);
    ctx.addIssue({ code: 'custom', path: at('vocab'), message: `no categorical field ${JSON.stringify(f.vocab)} to share a vocabulary with (categorical fields: ${cats.join(', ') || 'none'})` });
  } else if (owner.hashBuckets !== undefined || f.hashBuckets !== undefined) {
    ctx.addIssue({ code: 'custom', path: at('vocab'), message: 'a shared vocabulary cannot be hashed (hashBuckets on either field)' });
  } else if (f.minCount !== undefined) {
    ctx.addIssue({ code: 'custom', path: at('minCount'), message: `the shared vocabulary's minCount is set on field ${f.vocab}` });
  }
}

export type SourceConfig = z.output<typeof SourceSchema>;
export type EventsSourceConfig = z.output<typeof eventsSource>;
export type SplitConfig = z.output<typeof SplitSchema>;
export type SamplingConfig = z.output<typeof samplingSchema>;
export type LabelConfig = z.output<typeof LabelSchema>;
export type PositiveRule = NonNullable<LabelConfig['positive']>;
export type FieldConfig = z.output<typeof FieldSchema>;
export type CategoricalFieldConfig = z.output<typeof categoricalField>;
export type NumericFieldConfig = z.output<typeof numericField>;
export type SequenceFieldConfig = z.output<typeof sequenceField>;
export type NumericTransform = (typeof NUMERIC_TRANSFORMS)[number];
/** The validated `data` section, defaults filled in. */
export type DataConfig = z.output<typeof DataConfigSchema>;

/** The file of a source (undefined for a `duckdb` query, which names its files itself). */
export function sourcePath(source: SourceConfig): string | undefined {
  return 'path' in source ? source.path : undefined;
}

/**
 * The same source reading another file (predict / eval inputs). A `duckdb` query has no file to
 * swap, so the file is read as Parquet or JSON by its extension, with the query's column names.
 */
export function withSourcePath(source: SourceConfig, path: string): SourceConfig {
  if (source.format !== 'duckdb') return { ...source, path };
  const lower = path.toLowerCase();
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return { format: 'parquet', path };
  if (/\.(json|jsonl|ndjson)(\.gz)?$/.test(lower)) return { format: 'json', path };
  throw new ConfigError([`${path}: the model was trained on a duckdb query; give a .parquet or .json file whose columns are the query's result columns`]);
}

/** `a.b[3].c` from a zod path. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  let s = root;
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`;
  return s;
}

/** Rewrites zod's messages into `expected ...` sentences that read well after a key path. */
function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_union': {
      const i = issue as { options?: unknown[]; discriminator?: string };
      if (i.discriminator !== undefined && i.options !== undefined) return `expected one of ${i.options.map(String).join(', ')}`;
      return issue.message;
    }
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_type':
      return issue.message.startsWith('Invalid input: expected') && issue.message.endsWith('received undefined')
        ? `missing (expected ${issue.expected})`
        : issue.message.replace(/^Invalid input: /, '');
    default:
      return issue.message;
  }
}

/** Readable, one-line-per-problem messages: `where: data.fields[3].transform: expected one of ...`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], where: string, root: string): string[] {
  return issues.map((issue) => `${where}: ${formatPath(root, issue.path)}: ${issueMessage(issue)}`);
}

/**
 * Validates the `data` section of a configuration (`obj` is the section's value) and fills in
 * defaults. `where` names the file in error messages. Throws ConfigError.
 */
export function parseDataConfig(obj: unknown, where: string): DataConfig {
  const r = DataConfigSchema.safeParse(obj);
  if (!r.success) throw new ConfigError(formatIssues(r.error.issues, where, 'data'));
  return r.data;
}

/**
 * Reads a configuration file as a plain object: JSON for `.json`, else YAML (of which JSON is a
 * subset). Syntax errors name the file and line. No validation: each section has its own parser.
 */
export async function loadConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot read the configuration file (${(err as Error).message})`]);
  }
  if (extname(path).toLowerCase() === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      const msg = (err as Error).message;
      const pos = /position (\d+)/.exec(msg);
      const line = pos === null ? undefined : text.slice(0, Number(pos[1])).split('\n').length;
      throw new ConfigError([`${path}${line === undefined ? '' : `:${line}`}: invalid JSON (${msg})`]);
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const lp = e.linePos?.[0];
      const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return `${path}${lp === undefined ? '' : `:${lp.line}:${lp.col}`}: invalid YAML (${first})`;
    }));
  }
  return doc.toJS() as unknown;
}

/** loadConfigFile + parseDataConfig of its `data` section. */
export async function loadDataConfig(path: string): Promise<DataConfig> {
  const obj = await loadConfigFile(path);
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError([`${path}: expected a mapping with keys data, model, train, output`]);
  }
  const data = (obj as Record<string, unknown>).data;
  if (data === undefined) throw new ConfigError([`${path}: data: missing (expected the data section)`]);
  return parseDataConfig(data, path);
}
