/**
 * Input checks and float64 accumulation shared by the metric modules.
 *
 * Metrics accept any numeric array-like (Float32Array, Float64Array, number[]) so that callers can
 * pass model outputs without copying; every accumulation is done in float64 regardless.
 */

/** Numeric input accepted by every metric: typed arrays or plain arrays, read as float64. */
export type NumericArray = ArrayLike<number>;

/**
 * Thrown when a metric is mathematically undefined for the given data (AUC with one class only,
 * GAUC with no group holding both classes, any mean over zero total weight). Distinct from
 * RangeError, which signals malformed input, so callers can choose to report `null` instead.
 */
export class UndefinedMetricError extends Error {
  override readonly name = 'UndefinedMetricError';
}

/** Neumaier-compensated sum: keeps means over millions of rows accurate to ~1 ulp, not ~n ulp. */
export class CompensatedSum {
  private sum = 0;
  private comp = 0;

  add(x: number): void {
    const t = this.sum + x;
    if (Math.abs(this.sum) >= Math.abs(x)) this.comp += (this.sum - t) + x;
    else this.comp += (x - t) + this.sum;
    this.sum = t;
  }

  get value(): number {
    return this.sum + this.comp;
  }

  /** The running sum and its compensation, exactly (for checkpoints: a restored sum continues bit for bit). */
  toJSON(): [number, number] {
    return [this.sum, this.comp];
  }

  static fromJSON(parts: readonly [number, number]): CompensatedSum {
    const s = new CompensatedSum();
    s.sum = parts[0];
    s.comp = parts[1];
    return s;
  }
}

export function checkLengths(what: string, n: number, others: Record<string, ArrayLike<unknown> | undefined>): void {
  for (const [name, arr] of Object.entries(others)) {
    if (arr !== undefined && arr.length !== n) {
      throw new RangeError(`${what}: ${name} has length ${arr.length}, expected ${n} (same as scores)`);
    }
  }
}

/** Labels must be exactly 0 or 1: a soft label or a {-1, 1} encoding would silently skew AUC. */
export function checkLabels(what: string, labels: NumericArray): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`${what}: label at index ${i} is ${String(y)}, expected 0 or 1`);
  }
}

/** Weights must be finite and non-negative; zero is allowed and means "row ignored". */
export function checkWeights(what: string, weights: NumericArray | undefined): void {
  if (weights === undefined) return;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w)) {
      throw new RangeError(`${what}: weight at index ${i} is ${String(w)}, expected a finite value >= 0`);
    }
  }
}

/** Scores used only for ranking may be ±Infinity (saturated logits) but never NaN, which has no order. */
export function checkRankable(what: string, scores: NumericArray): void {
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`${what}: score at index ${i} is NaN`);
  }
}

/** Probabilities must lie in [0, 1]; catching logits passed by mistake beats clipping them silently. */
export function checkProbabilities(what: string, probs: NumericArray): void {
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(`${what}: prediction at index ${i} is ${String(p)}, expected a probability in [0, 1]`);
    }
  }
}
