/**
 * `ctrkit metrics`: AUC, LogLoss, ECE and (with a group column) GAUC, per-list ECE and NDCG@10 of a
 * predictions CSV, printed as
 * one JSON object on stdout so scripts can consume it; `--against` adds a second model's numbers
 * on the same rows and the prediction difference (PD) between the two.
 */
import { Command } from 'commander';
import {
  auc, ece, eceEqualFrequency, gaucDetail, listEce, logLoss, ndcg, predictionDifference, probabilitiesFromLogits,
  UndefinedMetricError,
} from '../../metrics/index.js';
import { CsvColumns, cellRef, csvHeader, numericColumn, readCsvColumns } from '../csv.js';
import { CliError } from '../errors.js';

interface MetricsOptions {
  input: string;
  against?: string;
  logits?: boolean;
  on: string[];
}

/** A predictions file's score / label column names: `score`, `label`, or one task's `score_<task>`, `label_<task>`. */
interface ColumnNames {
  score: string;
  label: string;
}

/** One predictions file, converted and validated. */
interface Predictions {
  readonly cols: CsvColumns<string, string>;
  /** The label column as read: 0/1, or graded relevances (0, 1, 2, …) when `graded`. */
  readonly labels: Float64Array;
  /** The first row whose label is neither 0 nor 1 (LTR relevance grades); undefined for binary labels. */
  readonly graded?: number;
  /** Probabilities for binary labels; for graded labels any finite ranking scores. */
  readonly probs: Float64Array;
  readonly weights?: Float64Array;
  readonly groups?: readonly string[];
}

/** Metrics defined only for 0/1 labels (probability or per-class quantities); NDCG takes graded ones. */
const BINARY_ONLY = ['auc', 'logloss', 'ece', 'ece_freq', 'gauc', 'ece_list'] as const;

async function readPredictions(file: string, logits: boolean, names: ColumnNames = { score: 'score', label: 'label' }, on?: string): Promise<Predictions> {
  const cols = await readCsvColumns(file, { required: [names.label, names.score, ...(on === undefined ? [] : [on])], optional: ['group', 'weight'] });
  const p = await predictionsOf(cols, logits, names);
  return on === undefined ? p : onRows(p, numericColumn(cols, on, cols.required[on]!), on);
}

/** The rows of `p` whose `on` column is 1 (a CVR task judged on clicked rows). */
function onRows(p: Predictions, on: Float64Array, column: string): Predictions {
  const keep: number[] = [];
  on.forEach((v, i) => {
    if (v === 1) keep.push(i);
    else if (v !== 0) throw new CliError(`${cellRef(p.cols, i, column)}: --on reads 0/1 labels, got ${v}`);
  });
  const pick = (a: Float64Array): Float64Array => Float64Array.from(keep, (i) => a[i]!);
  const graded = keep.findIndex((i) => p.labels[i] !== 0 && p.labels[i] !== 1);
  return {
    cols: { ...p.cols, rows: keep.length, lines: Uint32Array.from(keep, (i) => p.cols.lines[i]!) },
    labels: pick(p.labels), probs: pick(p.probs), ...(graded >= 0 && { graded }),
    ...(p.weights && { weights: pick(p.weights) }), ...(p.groups && { groups: keep.map((i) => p.groups![i]!) }),
  };
}

async function predictionsOf(cols: CsvColumns<string, string>, logits: boolean, names: ColumnNames): Promise<Predictions> {
  const { file } = cols;
  const labels = numericColumn(cols, names.label, cols.required[names.label]!);
  let graded: number | undefined;
  for (let i = 0; i < cols.rows; i++) {
    const y = labels[i]!;
    if (!(y >= 0) || !Number.isFinite(y)) throw new CliError(`${cellRef(cols, i, names.label)}: label must be 0/1 or a graded relevance >= 0, got ${y}`);
    if (y !== 0 && y !== 1 && graded === undefined) graded = i;
  }
  const scores = numericColumn(cols, names.score, cols.required[names.score]!);
  // Graded labels only feed NDCG, which ranks: any finite score will do there.
  if (!logits && graded === undefined) {
    for (let i = 0; i < cols.rows; i++) {
      const p = scores[i]!;
      if (!(p >= 0 && p <= 1)) {
        throw new CliError(`${cellRef(cols, i, names.score)}: ${p} is not a probability in [0, 1] (pass --logits if scores are logits)`);
      }
    }
  } else {
    for (let i = 0; i < cols.rows; i++) {
      if (!Number.isFinite(scores[i]!)) throw new CliError(`${cellRef(cols, i, names.score)}: logit ${scores[i]} is not finite`);
    }
  }
  const probs = logits ? probabilitiesFromLogits(scores) : scores;

  let weights: Float64Array | undefined;
  if (cols.optional.weight !== undefined) {
    weights = numericColumn(cols, 'weight', cols.optional.weight);
    for (let i = 0; i < cols.rows; i++) {
      if (!(weights[i]! >= 0) || !Number.isFinite(weights[i]!)) {
        throw new CliError(`${cellRef(cols, i, 'weight')}: weight must be finite and >= 0, got ${weights[i]}`);
      }
    }
  }
  const groups = cols.optional.group;
  if (groups !== undefined) {
    const empty = groups.findIndex((g) => g === '');
    if (empty >= 0) throw new CliError(`${cellRef(cols, empty, 'group')}: empty group id`);
  }
  return { cols, labels, ...(graded !== undefined && { graded }), probs, ...(weights && { weights }), ...(groups && { groups }) };
}

/** Runs one metric, mapping "undefined for this data" to null plus a warning rather than failing the run. */
function orNull(file: string, f: () => number, warnings: string[]): number | null {
  try {
    return f();
  } catch (err) {
    if (err instanceof UndefinedMetricError) {
      warnings.push(`${file}: ${err.message}`);
      return null;
    }
    throw err;
  }
}

/**
 * Graded labels: only ndcg@10 is computed; the binary-only metrics are left out of the output
 * (listed under "refused") rather than computed on a meaningless 0/1 reading of the grades.
 */
function summariseGraded(p: Predictions, warnings: string[]): Record<string, number | null> {
  const file = p.cols.file;
  const where = `${file}:${p.cols.lines[p.graded!]}`;
  if (p.groups === undefined) {
    throw new CliError(`${where}: column 'label': graded label ${p.labels[p.graded!]} (not 0/1): the only metric for graded labels is ndcg@10, which needs a group column (query / list id)`);
  }
  return { groups: new Set(p.groups).size, 'ndcg@10': orNull(file, () => ndcg(p.probs, p.labels, p.groups!, { k: 10 }), warnings) };
}

function summarise(p: Predictions, warnings: string[]): Record<string, number | null> {
  if (p.graded !== undefined) return summariseGraded(p, warnings);
  const file = p.cols.file;
  const out: Record<string, number | null> = {
    auc: orNull(file, () => auc(p.probs, p.labels, p.weights), warnings),
    logloss: orNull(file, () => logLoss(p.probs, p.labels, p.weights), warnings),
    ece: orNull(file, () => ece(p.probs, p.labels, { bins: 10, ...(p.weights && { weights: p.weights }) }), warnings),
    ece_freq: orNull(file, () => eceEqualFrequency(p.probs, p.labels, { bins: 10, ...(p.weights && { weights: p.weights }) }), warnings),
  };
  if (p.groups !== undefined) {
    const groups = p.groups;
    let used: number | null = 0;
    out.gauc = orNull(file, () => {
      const d = gaucDetail(p.probs, p.labels, groups, p.weights);
      used = d.groupsUsed;
      return d.gauc;
    }, warnings);
    out.groups = new Set(groups).size;
    out.gaucGroups = used;
    out.ece_list = orNull(file, () => listEce(p.probs, p.labels, groups, { buckets: 10, ...(p.weights && { weights: p.weights }) }), warnings);
    // NDCG is rank-based and takes no sample weights (see metrics/ndcg.ts).
    out['ndcg@10'] = orNull(file, () => ndcg(p.probs, p.labels, groups, { k: 10 }), warnings);
  }
  return out;
}

/** The --against file must describe the same rows: same count, same label on each line. */
function checkSameRows(a: Predictions, b: Predictions): void {
  if (a.cols.rows !== b.cols.rows) {
    throw new CliError(`${b.cols.file}: has ${b.cols.rows} data rows, but ${a.cols.file} has ${a.cols.rows}; --against needs the same rows in the same order`);
  }
  for (let i = 0; i < a.cols.rows; i++) {
    if (a.labels[i] !== b.labels[i]) {
      throw new CliError(`${cellRef(b.cols, i, 'label')}: label ${b.labels[i]} differs from ${a.labels[i]} at ${a.cols.file}:${a.cols.lines[i]}; --against needs the same rows in the same order`);
    }
  }
}

/** Task names of a multi-task predictions file (score_<task> columns, no plain score); [] for a one-task file. */
async function taskColumns(file: string): Promise<string[]> {
  const header = await csvHeader(file);
  if (header.includes('score')) return [];
  return header.filter((h) => h.startsWith('score_')).map((h) => h.slice('score_'.length));
}

/** --on TASK=LABEL: TASK judged on the rows where column LABEL (e.g. label_ctr) is 1. */
function parseOn(specs: readonly string[], tasks: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of specs) {
    const m = /^([^=]+)=(.+)$/.exec(s);
    if (!m) throw new CliError(`--on ${s}: expected TASK=COLUMN, e.g. cvr=label_ctr`);
    if (!tasks.includes(m[1]!)) throw new CliError(`--on ${s}: no task '${m[1]}' in the file (score_<task> columns: ${tasks.join(', ') || 'none'})`);
    out.set(m[1]!, m[2]!.toLowerCase());
  }
  return out;
}

/** A multi-task file (predict's score_<task> / label_<task>): the metrics of each task, keyed by task. */
async function runTaskMetrics(opts: MetricsOptions, tasks: readonly string[]): Promise<void> {
  const logits = opts.logits === true;
  const on = parseOn(opts.on, tasks);
  const warnings: string[] = [];
  const result: Record<string, unknown> = {};
  for (const t of tasks) {
    const names = { score: `score_${t}`, label: `label_${t}` };
    const main = await readPredictions(opts.input, logits, names, on.get(t));
    const entry: Record<string, unknown> = { rows: main.cols.rows, ...summarise(main, warnings) };
    if (opts.against !== undefined) {
      const other = await readPredictions(opts.against, logits, names, on.get(t));
      checkSameRows(main, other);
      entry.against = summarise({ ...other, ...(main.weights && { weights: main.weights }), ...(main.groups && { groups: main.groups }) }, warnings);
      entry.pd = orNull(main.cols.file, () => predictionDifference(main.probs, other.probs, main.weights), warnings);
    }
    result[t] = entry;
  }
  for (const w of warnings) process.stderr.write(`ctrkit metrics: warning: ${w}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function runMetrics(opts: MetricsOptions): Promise<void> {
  const tasks = await taskColumns(opts.input);
  if (tasks.length > 0) return runTaskMetrics(opts, tasks);
  if (opts.on.length > 0) throw new CliError(`--on: ${opts.input} has one score column; --on applies to multi-task files (score_<task>)`);
  const logits = opts.logits === true;
  const main = await readPredictions(opts.input, logits);
  const warnings: string[] = [];
  const result: Record<string, unknown> = { rows: main.cols.rows, ...summarise(main, warnings) };
  if (main.graded !== undefined) {
    result.labels = 'graded';
    result.refused = [...BINARY_ONLY];
    process.stderr.write(`ctrkit metrics: ${main.cols.file}: graded labels (e.g. ${main.labels[main.graded]} at line ${main.cols.lines[main.graded]}): ` +
      `ndcg@10 only (gain 2^label - 1); ${BINARY_ONLY.join(', ')} need 0/1 labels and are not computed\n`);
  }
  if (opts.against !== undefined) {
    // Weights and groups come from --input so both models are scored on identical slices.
    const other = await readPredictions(opts.against, logits);
    checkSameRows(main, other);
    const aligned: Predictions = {
      ...other, ...(main.weights && { weights: main.weights }), ...(main.groups && { groups: main.groups }),
    };
    result.against = summarise(aligned, warnings);
    result.pd = orNull(main.cols.file, () => predictionDifference(main.probs, other.probs, main.weights), warnings);
  }
  for (const w of warnings) process.stderr.write(`ctrkit metrics: warning: ${w}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function metricsCommand(): Command {
  return new Command('metrics')
    .description('AUC, LogLoss, ECE, GAUC and NDCG of a predictions CSV, printed as one JSON object')
    .requiredOption('-i, --input <file>', 'CSV with header; columns label (0/1, or graded 0, 1, 2, ...) and score, optional group and weight, any order')
    .option('-a, --against <file>', 'second predictions CSV on the same rows: adds its metrics ("against") and the prediction difference ("pd")')
    .option('--logits', 'scores are logits, not probabilities (converted with a sigmoid)')
    .option('--on <task=column>', 'multi-task file: judge TASK on the rows where COLUMN is 1, e.g. cvr=label_ctr (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addHelpText('after', `
Output keys: rows, auc, logloss, ece (equal-width, 10 bins), ece_freq (equal-frequency, 10 bins);
with a group column also gauc, groups (distinct ids), gaucGroups (groups having both classes, the
ones averaged), ece_list (per-list ECE of CLID, K = 10 buckets per list) and ndcg@10 (groups
without a positive label left out; tied scores averaged). A weight column weights every metric
except ndcg@10. A metric that is undefined for the data (e.g. AUC with one class) is null, with a
warning on stderr. LogLoss clips p to [1e-7, 1 - 1e-7].

A multi-task file (\`ctrkit predict\` of a multi-task model: score_<task> and label_<task> columns,
no score column) gives one object per task, {"<task>": {rows, auc, …}, …}; --on cvr=label_ctr
judges a task on the rows where another column is 1 (CVR on clicked rows), as training did.

Graded labels (LTR relevance 0, 1, 2, ...: any label other than 0/1): only ndcg@10 (gain
2^label - 1; needs a group column) and groups are computed, scores may be any finite numbers;
the output adds "labels":"graded" and "refused":[auc, logloss, ece, ece_freq, gauc, ece_list]
(those need 0/1 labels), and stderr says so.

Example:
  ctrkit metrics --input preds.csv
  {"rows":1000,"auc":0.7861,"logloss":0.4312,"ece":0.0121,"ece_freq":0.0135}`)
    .action(async (opts: MetricsOptions) => runMetrics(opts));
}
