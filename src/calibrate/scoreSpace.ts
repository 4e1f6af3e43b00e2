/** The two spaces a calibrator's input can come in, and the conversions between them. */

/** 'probability': p ∈ [0, 1]; 'logit': z = ln(p / (1 − p)) ∈ [−∞, ∞]. */
export type ScoreSpace = 'probability' | 'logit';

/** σ(z) without overflow in exp(). */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** ln(p/(1−p)); ±Infinity at p = 1 / p = 0, which every calibrator here maps to a finite output. */
export function logit(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

export function toLogit(x: number, input: ScoreSpace): number {
  return input === 'logit' ? x : logit(x);
}

export function toProbability(x: number, input: ScoreSpace): number {
  return input === 'probability' ? x : sigmoid(x);
}

/** Rejects NaN and, for probabilities, values outside [0, 1]; `i` is the index reported. */
export function checkScore(what: string, x: number, input: ScoreSpace, i: number): void {
  if (Number.isNaN(x) || (input === 'probability' && !(x >= 0 && x <= 1))) {
    throw new RangeError(`${what}: ${input} at index ${i} is ${String(x)}${input === 'probability' ? ', expected a value in [0, 1]' : ''}`);
  }
}
