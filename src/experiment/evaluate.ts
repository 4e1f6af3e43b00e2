/**
 * Scores of a dataset's rows and the standard metrics over them, as training, `ctrkit eval`
 * and the experiment reports compute them.
 */
import type { Dataset } from '../data/dataset.js';
import type { RowRange } from '../data/prep/split.js';
import {
  auc, ece, eceEqualFrequency, gauc, listEce, logLoss, ndcg, probabilitiesFromLogits, UndefinedMetricError,
} from '../metrics/index.js';

/** Group index of every row in [start, end) from the dataset's group offsets (undefined without groups). */
export function groupKeys(ds: Dataset, rows: RowRange): Int32Array | undefined {
  const off = ds.groupOffsets;
  if (!off) return undefined;
  const keys = new Int32Array(rows.end - rows.start);
  for (let g = 0; g + 1 < off.length; g++) {
    for (let r = Math.max(off[g]!, rows.start); r < Math.min(off[g + 1]!, rows.end); r++) keys[r - rows.start] = g;
  }
  return keys;
}

/** A metric that has no value on these rows (one class only, …) is null rather than an error. */
function orNull(f: () => number): number | null {
  try {
    return f();
  } catch (e) {
    if (e instanceof UndefinedMetricError) return null;
    throw e;
  }
}

/** The rows a metric reads: a range, or ascending row indices (a task restricted to some rows). */
export type EvalRows = RowRange | Int32Array;

/** column[r] for each row r of `rows` (a subarray view for a range). */
export function rowValues(column: Float32Array, rows: EvalRows): Float32Array {
  return rows instanceof Int32Array ? Float32Array.from(rows, (r) => column[r]!) : column.subarray(rows.start, rows.end);
}

/** Group index of each row (ascending indices) from the dataset's group offsets. */
function groupKeysOf(ds: Dataset, rows: EvalRows): Int32Array | undefined {
  if (!(rows instanceof Int32Array)) return groupKeys(ds, rows);
  const off = ds.groupOffsets;
  if (!off) return undefined;
  const keys = new Int32Array(rows.length);
  let g = 0;
  rows.forEach((r, i) => {
    while (off[g + 1]! <= r) g++;
    keys[i] = g;
  });
  return keys;
}

export interface MetricsOptions {
  /**
   * β_pos: positives count with this weight (times any sample weight), as the loss weighted
   * them in training. A β_pos < 1 simulates sparser positives (KDD'24, SPEC §1), and the
   * metrics must see the same simulated distribution (default 1).
   */
  positiveWeight?: number;
  /** Which of the dataset's labels (default 0, the first). */
  label?: number;
}

/** Sample weights of rows [start, end) with positives scaled by β_pos (undefined when all are 1). */
export function evaluationWeights(ds: Dataset, rows: EvalRows, positiveWeight = 1, label = 0): Float32Array | undefined {
  const w = ds.weights && rowValues(ds.weights, rows);
  if (positiveWeight === 1) return w;
  const y = rowValues(ds.labels[label]!, rows);
  return Float32Array.from(y, (v, i) => (w ? w[i]! : 1) * (v === 1 ? positiveWeight : 1));
}

/**
 * auc, logloss, ece, ece_freq, mean prediction and observed rate and — when the rows have
 * groups — gauc, ndcg@10 and ece_list of probabilities `p` (one per row of `rows`, in order)
 * against label `opts.label` (default the first) of those rows.
 */
export function metricsFor(p: ArrayLike<number>, ds: Dataset, rows: EvalRows, opts: MetricsOptions = {}): Record<string, number | null> {
  const label = opts.label ?? 0;
  const y = rowValues(ds.labels[label]!, rows);
  if (p.length !== y.length) throw new Error(`metricsFor: ${p.length} predictions for ${y.length} rows`);
  const binary = y.every((v) => v === 0 || v === 1);
  const w = binary ? evaluationWeights(ds, rows, opts.positiveWeight, label) : ds.weights && rowValues(ds.weights, rows);
  const out: Record<string, number | null> = {};
  if (binary) {
    out.auc = orNull(() => auc(p, y, w));
    out.logloss = orNull(() => logLoss(p, y, w));
    out.ece = orNull(() => ece(p, y, { weights: w }));
    out.ece_freq = orNull(() => eceEqualFrequency(p, y, { weights: w }));
    // Mean predicted vs observed rate: the first thing a calibration check looks at.
    let sw = 0, sp = 0, sy = 0;
    for (let i = 0; i < y.length; i++) {
      const wi = w ? w[i]! : 1;
      sw += wi;
      sp += wi * p[i]!;
      sy += wi * y[i]!;
    }
    out.mean_p = sw > 0 ? sp / sw : null;
    out.mean_y = sw > 0 ? sy / sw : null;
  }
  const groups = groupKeysOf(ds, rows);
  if (groups) {
    if (binary) {
      out.gauc = orNull(() => gauc(p, y, groups, w));
      out.ece_list = orNull(() => listEce(p, y, groups));
    }
    out['ndcg@10'] = orNull(() => ndcg(p, y, groups, { k: 10 }));
  }
  return out;
}

/** Probabilities from logits (float64). */
export function probabilities(z: Float32Array): Float64Array {
  return probabilitiesFromLogits(z);
}
