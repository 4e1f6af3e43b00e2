/** Converting model logits to the probabilities the metrics expect. */
import { NumericArray } from './common.js';

/**
 * σ(z) in float64 for each logit, evaluated in the form that cannot overflow exp():
 * 1/(1+e^−z) for z ≥ 0 and e^z/(1+e^z) for z < 0. Returns a new Float64Array.
 */
export function probabilitiesFromLogits(logits: NumericArray): Float64Array {
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i]!;
    if (z >= 0) out[i] = 1 / (1 + Math.exp(-z));
    else {
      const e = Math.exp(z);
      out[i] = e / (1 + e);
    }
  }
  return out;
}
