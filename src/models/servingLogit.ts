/**
 * The one logit per row that predictions, metrics and calibration work with. A two-logit (JRC)
 * head emits [z⁰, z¹]; its served pCTR is softmax([z⁰, z¹])₁ = σ(z¹ − z⁰), so storing z¹ − z⁰
 * keeps every consumer of logits (σ for probabilities, Platt / isotonic in logit space,
 * prediction files) unchanged and exact: σ of the stored value is softmax₁.
 */
import { jrcLogit } from '../losses/jrc.js';
import type { Tensor } from '../tensor/tensor.js';

/** z for a [N] output, z¹ − z⁰ for a [N, 2] one. */
export function servingLogit(z: Tensor): Tensor {
  return z.shape.length === 2 && z.shape[1] === 2 ? jrcLogit(z) : z;
}
