/**
 * train.biasConstraints as a loss component: the slices of a batch (pCTR deciles of its current
 * predictions, or a categorical field's most frequent values) fed to the BiasConstraint of
 * src/calibrate/biasConstraints.ts, whose term the runner adds to the configured loss. Its λ are
 * training state like the optimiser's, checkpointed through the trainer's auxiliary states.
 */
import { BiasConstraint } from '../calibrate/biasConstraints.js';
import type { Batch } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { IdFieldSpec } from '../schema/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AuxiliaryState } from '../train/trainer.js';
import type { MetricValue } from '../train/metricLog.js';
import type { BiasConstraintsConfig } from './config.js';
import { topIds } from './trainReport.js';

export interface BiasConstraintTerm extends AuxiliaryState {
  readonly constraint: BiasConstraint;
  /** Slice id (−1: none) of each row of a batch, given its logits. */
  slicesOf(z: Float32Array, b: Batch): Int32Array;
  /** The term R for the batch (performs the λ ascent); add it to the loss. */
  term(z: Tensor, b: Batch): Tensor;
  /** Slice ids of dataset rows [start, end) by their predictions `p` (for the report). */
  rowSlices(p: ArrayLike<number>, start: number, end: number): Int32Array;
  /** Display name of each slice. */
  readonly labels: string[];
  /** What the slices are, for the report: 'pCTR decile (per batch)' or the field name. */
  readonly by: string;
}

/**
 * Rank deciles (or K-iles) of `z`: equal-count buckets, ties broken by row order so the result
 * does not depend on the sort. In a batch they are the pCTR buckets of the model's current
 * predictions; fixed probability edges would leave most buckets empty early in training.
 */
export function rankBuckets(z: ArrayLike<number>, k: number): Int32Array {
  const n = z.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => z[a]! - z[b]! || a - b);
  const out = new Int32Array(n);
  order.forEach((row, rank) => { out[row] = Math.floor((rank * k) / n); });
  return out;
}

/** The `top` most frequent local ids of field `j` over `rows` (most first, ties by smaller id). */
function topValues(ds: Dataset, j: number, rows: { start: number; end: number }, top: number): number[] {
  const counts = new Int32Array(ds.fieldSizes[j]!);
  for (let r = rows.start; r < rows.end; r++) counts[ds.ids[r * ds.numFields + j]! - ds.fieldOffsets[j]!]!++;
  return topIds(counts, top);
}

/** `ds` (and `fitRows`) only matter to field slices, which take their values from the fit rows; pCTR slices need none (online mode). */
export function createBiasConstraintTerm(cfg: BiasConstraintsConfig, ds: Dataset | undefined, fields: readonly IdFieldSpec[], fitRows: { start: number; end: number },
  valueName: (field: number, local: number) => string): BiasConstraintTerm {
  const s = cfg.slices;
  let numSlices: number;
  let labels: string[];
  let by: string;
  let slicesOf: (z: Float32Array, b: Batch) => Int32Array;
  let rowSlices: (p: ArrayLike<number>, start: number, end: number) => Int32Array;
  if (s.by === 'pctr') {
    numSlices = s.buckets;
    labels = Array.from({ length: numSlices }, (_, k) => `pCTR bucket ${k + 1}/${numSlices}`);
    by = `pCTR ${numSlices}-quantile`;
    slicesOf = (z) => rankBuckets(z, numSlices);
    rowSlices = (p) => rankBuckets(p, numSlices);
  } else {
    const j = fields.findIndex((f) => f.name === s.field);
    // The config check has vetted the name against data.fields; a miss here is a bug.
    if (j < 0) throw new Error(`biasConstraints: field ${s.field} is not an id field of the dataset`);
    if (ds === undefined) throw new Error('biasConstraints: slices by a field need the training rows');
    const top = topValues(ds, j, fitRows, s.top);
    const sliceOf = new Int32Array(ds.fieldSizes[j]!).fill(-1);
    top.forEach((local, k) => { sliceOf[local] = k; });
    numSlices = top.length;
    labels = top.map((local) => valueName(j, local));
    by = s.field;
    const nf = ds.numFields, off = ds.fieldOffsets[j]!;
    slicesOf = (_z, b) => Int32Array.from({ length: b.size }, (_, i) => sliceOf[b.ids[i * nf + j]! - off]!);
    rowSlices = (_p, start, end) => Int32Array.from({ length: end - start }, (_, i) => sliceOf[ds.ids[(start + i) * nf + j]! - off]!);
  }
  const constraint = new BiasConstraint({ numSlices, lambdaLr: cfg.lr, alpha3: cfg.alpha, rampStart: cfg.rampStart, rampSteps: cfg.rampSteps });
  return {
    constraint, labels, by, slicesOf, rowSlices,
    term: (z, b) => constraint.term(z, b.labels, slicesOf(z.data, b), b.weights),
    save: () => constraint.state(),
    load: (state) => constraint.loadState(state as ReturnType<BiasConstraint['state']>),
    epochRecord: (): Record<string, MetricValue> => Object.fromEntries(Array.from(constraint.lambda, (l, k) => [`bias_lambda_${k}`, l])),
  };
}
