/**
 * Progressive validation (SPEC §6): on a stream, every batch is scored before it is trained on, so
 * the scores of all rows seen so far are an honest out-of-sample evaluation with no held-out split.
 * This accumulator is fed batch by batch — `predict(p)` with the scores, then `label(y)` once the
 * labels are known — and reports, at any time:
 *
 * - cumulative LogLoss, mean p vs mean y, equal-width ECE, and per-slice calibration bias: exact,
 *   from running sums (O(bins + slices) memory);
 * - cumulative AUC over a fixed histogram of logit(p) (AUC_BINS bins on [−LOGIT_RANGE, LOGIT_RANGE]):
 *   an exact AUC would keep every row ever seen, which an unbounded stream cannot. Rows that share a
 *   bin count as ties (½), so the value is within `aucMaxError` (½ Σ_b W⁺_b W⁻_b / (W⁺ W⁻) over the
 *   bins holding more than one distinct score, also reported) of the exact one;
 * - sliding-window metrics over the last `window` rows: AUC (exact: the window is kept), LogLoss,
 *   mean p / mean y, ECE;
 * - "since last": the LogLoss of the rows since the previous `report()` (Vowpal Wabbit's column).
 *
 * Memory is bounded by the window, the histogram and `maxSlices`, however long the stream. The whole
 * state round-trips through JSON (`toJSON` / `fromJSON`) so that a resumed run reports what an
 * uninterrupted one would.
 */
import { aucOverRows, allRows } from './auc.js';
import {
  CompensatedSum, NumericArray, checkLabels, checkLengths, checkProbabilities, checkWeights,
} from './common.js';
import { ece } from './ece.js';
import { LOGLOSS_EPS } from './logLoss.js';
import type { SliceBias } from './calibrationBias.js';

/** Histogram resolution of the cumulative AUC (bins over the logit). */
export const AUC_BINS = 1 << 15;
/** Logits beyond ±LOGIT_RANGE share the end bins; p clipped at LOGLOSS_EPS has |logit| ≈ 16.1. */
export const LOGIT_RANGE = 16.5;
/** The slice that collects rows of slice values beyond `maxSlices`. */
export const OTHER_SLICE = '(other)';

export interface ProgressiveOptions {
  /** Rows of the sliding window (default 10 000). */
  readonly window?: number;
  /** Equal-width ECE bins (default 10). */
  readonly eceBins?: number;
  /** Distinct slice values tracked; later values are pooled into OTHER_SLICE (default 100). */
  readonly maxSlices?: number;
}

export interface WindowReport {
  readonly rows: number;
  /** null while the window holds one class only. */
  readonly auc: number | null;
  readonly logloss: number | null;
  readonly meanP: number | null;
  readonly meanY: number | null;
  readonly ece: number | null;
}

export interface ProgressiveReport {
  /** Rows and weight scored so far. */
  readonly rows: number;
  readonly weight: number;
  readonly logloss: number | null;
  /** Histogram AUC (see the module comment) and its worst-case distance to the exact AUC. */
  readonly auc: number | null;
  readonly aucMaxError: number | null;
  readonly meanP: number | null;
  readonly meanY: number | null;
  readonly ece: number | null;
  /** LogLoss of the rows since the previous report(), and how many. */
  readonly sinceLast: { readonly rows: number; readonly logloss: number | null };
  readonly window: WindowReport;
  /** Per slice value (order of first appearance), when label() was given slices. */
  readonly slices: SliceBias[];
}

type Parts = [number, number];

/** The JSON form of the accumulator's state. */
export interface ProgressiveState {
  readonly options: Required<ProgressiveOptions>;
  readonly rows: number;
  readonly loss: Parts;
  readonly weight: Parts;
  readonly sumP: Parts;
  readonly sumY: Parts;
  /** Non-empty histogram bins: [bin, positive weight, negative weight, min p, max p]. */
  readonly hist: [number, number, number, number, number][];
  readonly ece: { weight: Parts; sumP: Parts; sumY: Parts }[];
  readonly since: { rows: number; loss: Parts; weight: Parts };
  /** Window rows, oldest first. */
  readonly windowRows: { p: number[]; y: number[]; w: number[] };
  readonly slices: { key: number | string; rows: number; weight: Parts; sumP: Parts; sumY: Parts }[];
}

interface SliceSums {
  rows: number;
  weight: CompensatedSum;
  sumP: CompensatedSum;
  sumY: CompensatedSum;
}

const newSums = (): { weight: CompensatedSum; sumP: CompensatedSum; sumY: CompensatedSum } =>
  ({ weight: new CompensatedSum(), sumP: new CompensatedSum(), sumY: new CompensatedSum() });

/** −ln of the probability given to the observed label, with logLoss's clip. */
function rowLoss(p: number, y: number): number {
  const q = Math.min(1 - LOGLOSS_EPS, Math.max(LOGLOSS_EPS, p));
  return -(y === 1 ? Math.log(q) : Math.log1p(-q));
}

/** Histogram bin of a probability, by its logit (CTR scores crowd near 0, where p-bins would be coarse). */
export function aucBin(p: number): number {
  const q = Math.min(1 - LOGLOSS_EPS, Math.max(LOGLOSS_EPS, p));
  const z = Math.log(q) - Math.log1p(-q);
  const b = Math.floor(((z + LOGIT_RANGE) / (2 * LOGIT_RANGE)) * AUC_BINS);
  return Math.min(AUC_BINS - 1, Math.max(0, b));
}

export class ProgressiveValidation {
  readonly options: Required<ProgressiveOptions>;
  private rows = 0;
  private loss = new CompensatedSum();
  private weight = new CompensatedSum();
  private sumP = new CompensatedSum();
  private sumY = new CompensatedSum();
  private readonly histPos = new Float64Array(AUC_BINS);
  private readonly histNeg = new Float64Array(AUC_BINS);
  // Per-bin score range: a bin whose scores are all equal holds true ties only, which cost no error.
  private readonly histMin = new Float64Array(AUC_BINS).fill(Infinity);
  private readonly histMax = new Float64Array(AUC_BINS).fill(-Infinity);
  private eceBins: { weight: CompensatedSum; sumP: CompensatedSum; sumY: CompensatedSum }[];
  private since = { rows: 0, loss: new CompensatedSum(), weight: new CompensatedSum() };
  // Ring buffer of the window: the next row goes to `head`; `filled` rows are valid.
  private readonly ringP: Float64Array;
  private readonly ringY: Uint8Array;
  private readonly ringW: Float64Array;
  private head = 0;
  private filled = 0;
  private readonly sliceIndex = new Map<number | string, number>();
  private readonly sliceKeys: (number | string)[] = [];
  private readonly sliceSums: SliceSums[] = [];
  private pending: Float64Array | undefined;

  constructor(options: ProgressiveOptions = {}) {
    const o = { window: options.window ?? 10_000, eceBins: options.eceBins ?? 10, maxSlices: options.maxSlices ?? 100 };
    for (const [k, v] of Object.entries(o)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`ProgressiveValidation: ${k} must be a positive integer, got ${v}`);
    }
    this.options = o;
    this.eceBins = Array.from({ length: o.eceBins }, newSums);
    this.ringP = new Float64Array(o.window);
    this.ringY = new Uint8Array(o.window);
    this.ringW = new Float64Array(o.window);
  }

  /** Rows scored and labelled so far. */
  get count(): number {
    return this.rows;
  }

  /**
   * The scores of the next batch, made before the model saw its labels. Copied, so the caller may
   * reuse its buffer. @throws Error when the previous batch's labels are still due.
   */
  predict(probs: NumericArray): void {
    if (this.pending !== undefined) throw new Error(`ProgressiveValidation.predict: the labels of the previous ${this.pending.length} predictions were not given (call label() first)`);
    checkProbabilities('ProgressiveValidation.predict', probs);
    this.pending = Float64Array.from(probs);
  }

  /**
   * The labels (and optional weights, slice values) of the rows last passed to predict(), in the
   * same order. Nothing is recorded when the input is malformed.
   */
  label(labels: NumericArray, weights?: NumericArray, slices?: ArrayLike<number | string>): void {
    const what = 'ProgressiveValidation.label';
    const p = this.pending;
    if (p === undefined) throw new Error(`${what}: no predictions to label (call predict() first)`);
    checkLengths(what, p.length, { labels, weights, slices });
    checkLabels(what, labels);
    checkWeights(what, weights);
    this.pending = undefined;
    const W = this.options.window;
    for (let i = 0; i < p.length; i++) {
      const pi = p[i]!, y = labels[i]!, w = weights === undefined ? 1 : weights[i]!;
      const l = w * rowLoss(pi, y);
      this.loss.add(l);
      this.weight.add(w);
      this.sumP.add(w * pi);
      this.sumY.add(w * y);
      this.since.loss.add(l);
      this.since.weight.add(w);
      const b = aucBin(pi);
      if (y === 1) this.histPos[b]! += w; else this.histNeg[b]! += w;
      if (pi < this.histMin[b]!) this.histMin[b] = pi;
      if (pi > this.histMax[b]!) this.histMax[b] = pi;
      const e = this.eceBins[Math.min(this.options.eceBins - 1, Math.floor(pi * this.options.eceBins))]!;
      e.weight.add(w); e.sumP.add(w * pi); e.sumY.add(w * y);
      this.ringP[this.head] = pi;
      this.ringY[this.head] = y;
      this.ringW[this.head] = w;
      this.head = (this.head + 1) % W;
      if (this.filled < W) this.filled++;
      if (slices !== undefined) {
        const s = this.slice(slices[i]!);
        s.rows++; s.weight.add(w); s.sumP.add(w * pi); s.sumY.add(w * y);
      }
    }
    this.rows += p.length;
    this.since.rows += p.length;
  }

  private slice(key: number | string): SliceSums {
    let k = this.sliceIndex.get(key);
    if (k === undefined) {
      // Past the limit, new values share one slice: memory stays bounded on a high-cardinality field.
      const full = this.sliceKeys.length >= this.options.maxSlices;
      const as = full ? OTHER_SLICE : key;
      k = this.sliceIndex.get(as);
      if (k === undefined) {
        k = this.sliceKeys.length;
        this.sliceKeys.push(as);
        this.sliceSums.push({ rows: 0, ...newSums() });
        this.sliceIndex.set(as, k);
      }
    }
    return this.sliceSums[k]!;
  }

  /** The metrics now; starts a new "since last" period. */
  report(): ProgressiveReport {
    const out = this.snapshot();
    this.since = { rows: 0, loss: new CompensatedSum(), weight: new CompensatedSum() };
    return out;
  }

  /** The metrics now, "since last" left running. */
  snapshot(): ProgressiveReport {
    const W = this.weight.value;
    const mean = (s: CompensatedSum): number | null => (W > 0 ? s.value / W : null);
    const sinceW = this.since.weight.value;
    const out: ProgressiveReport = {
      rows: this.rows,
      weight: W,
      logloss: mean(this.loss),
      ...this.histogramAuc(),
      meanP: mean(this.sumP),
      meanY: mean(this.sumY),
      ece: W > 0 ? this.cumulativeEce() / W : null,
      sinceLast: { rows: this.since.rows, logloss: sinceW > 0 ? this.since.loss.value / sinceW : null },
      window: this.windowReport(),
      slices: this.sliceKeys.map((slice, k) => {
        const s = this.sliceSums[k]!;
        const w = s.weight.value, P = s.sumP.value, Y = s.sumY.value;
        return { slice, rows: s.rows, weight: w, predicted: P, observed: Y, ratioBias: Y > 0 ? P / Y - 1 : null, meanBias: w > 0 ? (P - Y) / w : null };
      }),
    };
    return out;
  }

  private cumulativeEce(): number {
    const gap = new CompensatedSum();
    for (const b of this.eceBins) gap.add(Math.abs(b.sumP.value - b.sumY.value));
    return gap.value;
  }

  private histogramAuc(): { auc: number | null; aucMaxError: number | null } {
    const area = new CompensatedSum(), within = new CompensatedSum(), negBelow = new CompensatedSum(), pos = new CompensatedSum();
    for (let b = 0; b < AUC_BINS; b++) {
      const wp = this.histPos[b]!, wn = this.histNeg[b]!;
      if (wp > 0) {
        area.add(wp * (negBelow.value + 0.5 * wn));
        if (this.histMin[b]! < this.histMax[b]!) within.add(wp * wn);
      }
      negBelow.add(wn);
      pos.add(wp);
    }
    const PN = pos.value * negBelow.value;
    return PN > 0 ? { auc: area.value / PN, aucMaxError: (0.5 * within.value) / PN } : { auc: null, aucMaxError: null };
  }

  /** The window's rows, oldest first. */
  private windowArrays(): { p: Float64Array; y: Uint8Array; w: Float64Array } {
    const n = this.filled, W = this.options.window;
    const start = n < W ? 0 : this.head;
    const p = new Float64Array(n), y = new Uint8Array(n), w = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const r = (start + k) % W;
      p[k] = this.ringP[r]!; y[k] = this.ringY[r]!; w[k] = this.ringW[r]!;
    }
    return { p, y, w };
  }

  private windowReport(): WindowReport {
    const { p, y, w } = this.windowArrays();
    const loss = new CompensatedSum(), weight = new CompensatedSum(), sp = new CompensatedSum(), sy = new CompensatedSum();
    for (let i = 0; i < p.length; i++) {
      loss.add(w[i]! * rowLoss(p[i]!, y[i]!)); weight.add(w[i]!); sp.add(w[i]! * p[i]!); sy.add(w[i]! * y[i]!);
    }
    const Wt = weight.value;
    if (!(Wt > 0)) return { rows: p.length, auc: null, logloss: null, meanP: null, meanY: null, ece: null };
    const a = aucOverRows(p, y, w, allRows(p.length)).auc;
    return {
      rows: p.length, auc: Number.isNaN(a) ? null : a, logloss: loss.value / Wt, meanP: sp.value / Wt, meanY: sy.value / Wt,
      ece: ece(p, y, { bins: this.options.eceBins, weights: w }),
    };
  }

  toJSON(): ProgressiveState {
    if (this.pending !== undefined) throw new Error('ProgressiveValidation.toJSON: a batch was predicted but not labelled');
    const hist: [number, number, number, number, number][] = [];
    for (let b = 0; b < AUC_BINS; b++) {
      if (this.histMin[b]! <= this.histMax[b]!) hist.push([b, this.histPos[b]!, this.histNeg[b]!, this.histMin[b]!, this.histMax[b]!]);
    }
    const sums = (s: { weight: CompensatedSum; sumP: CompensatedSum; sumY: CompensatedSum }): { weight: Parts; sumP: Parts; sumY: Parts } =>
      ({ weight: s.weight.toJSON(), sumP: s.sumP.toJSON(), sumY: s.sumY.toJSON() });
    const win = this.windowArrays();
    return {
      options: this.options, rows: this.rows, loss: this.loss.toJSON(), weight: this.weight.toJSON(), sumP: this.sumP.toJSON(), sumY: this.sumY.toJSON(),
      hist, ece: this.eceBins.map(sums),
      since: { rows: this.since.rows, loss: this.since.loss.toJSON(), weight: this.since.weight.toJSON() },
      windowRows: { p: Array.from(win.p), y: Array.from(win.y), w: Array.from(win.w) },
      slices: this.sliceKeys.map((key, k) => ({ key, rows: this.sliceSums[k]!.rows, ...sums(this.sliceSums[k]!) })),
    };
  }

  /** The accumulator toJSON() described, continuing exactly where it was. */
  static fromJSON(s: ProgressiveState): ProgressiveValidation {
    const v = new ProgressiveValidation(s.options);
    const C = CompensatedSum.fromJSON;
    v.rows = s.rows;
    v.loss = C(s.loss); v.weight = C(s.weight); v.sumP = C(s.sumP); v.sumY = C(s.sumY);
    for (const [b, wp, wn, lo, hi] of s.hist) { v.histPos[b] = wp; v.histNeg[b] = wn; v.histMin[b] = lo; v.histMax[b] = hi; }
    v.eceBins = s.ece.map((e) => ({ weight: C(e.weight), sumP: C(e.sumP), sumY: C(e.sumY) }));
    v.since = { rows: s.since.rows, loss: C(s.since.loss), weight: C(s.since.weight) };
    const n = s.windowRows.p.length;
    for (let k = 0; k < n; k++) { v.ringP[k] = s.windowRows.p[k]!; v.ringY[k] = s.windowRows.y[k]!; v.ringW[k] = s.windowRows.w[k]!; }
    v.filled = n;
    v.head = n % s.options.window;
    s.slices.forEach((sl, k) => {
      v.sliceKeys.push(sl.key);
      v.sliceIndex.set(sl.key, k);
      v.sliceSums.push({ rows: sl.rows, weight: C(sl.weight), sumP: C(sl.sumP), sumY: C(sl.sumY) });
    });
    return v;
  }
}
