/**
 * The one logit per row that predictions, metrics and calibration work with. A two-logit (JRC)
 * head emits [z⁰, z¹]; its served pCTR is softmax([z⁰, z¹])₁ = σ(z¹ − z⁰), so storing z¹ − z⁰
 * keeps every consumer of logits (σ for probabilities, Platt / isotonic in logit space,
 * prediction files) unchanged and exact: σ of the stored value is softmax₁.
 * Here rather than in losses/ because the head's output is the model's (the JRC loss, a higher
 * layer, reads it from here).
 */
import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { reshape } from '../autograd/ops/layout.js';
import { pairDiff } from '../autograd/ops/segment.js';

/** The row count of a two-logit output ([n, 2]; any n when n is not given), else an error naming `op`. */
export function checkTwoLogits(op: string, z: Tensor, n?: number): number {
  if (z.shape.length !== 2 || z.shape[1] !== 2 || (n !== undefined && z.shape[0] !== n)) {
    throw new Error(`${op}: expects two logits per item, shape [${n ?? 'N'}, 2], got ${shapeStr(z.shape)}`);
  }
  return z.shape[0]!;
}

/** z¹ − z⁰, [N]: the logit of softmax([z⁰, z¹])₁. */
export function jrcLogit(z: Tensor): Tensor {
  const n = checkTwoLogits('jrcLogit', z);
  const one = Int32Array.from({ length: n }, (_, i) => 2 * i + 1);
  const zero = Int32Array.from({ length: n }, (_, i) => 2 * i);
  return pairDiff(reshape(z, [2 * n]), one, zero);
}

/** z for a [N] output, z¹ − z⁰ for a [N, 2] one. */
export function servingLogit(z: Tensor): Tensor {
  return z.shape.length === 2 && z.shape[1] === 2 ? jrcLogit(z) : z;
}
