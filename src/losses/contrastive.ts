/**
 * Contrastive auxiliary of Combined-Contrastive (KDD'24 §3.4; SPEC §1). The paper only says an
 * InfoNCE-style term on representations of positive vs negative samples in the batch is added
 * with weight (1−α), and that, like the ranking losses, it enlarges the gradient reaching
 * negatives. We use the supervised-contrastive form (Khosla et al. 2020) with the positives as
 * anchors: with u_i = h_i/‖h_i‖ and similarities s_ij = u_i·u_j / τ,
 *   L_con = −1/|P| Σ_{i∈P} 1/(|P|−1) Σ_{k∈P, k≠i} log( exp(s_ik) / Σ_{j≠i} exp(s_ij) ),
 * so each positive is pulled toward the other positives and pushed from every negative in the
 * denominator. Anchoring on the (sparse) positives keeps the cost at O(|P|·N·d) instead of
 * O(N²·d). Fewer than two positives, or no negative, leaves nothing to contrast: the term is 0.
 */
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { add, affine, div, scale, sqrt, square } from '../autograd/ops/elementwise.js';
import { matmul } from '../autograd/ops/linear.js';
import { sum } from '../autograd/ops/reduce.js';
import { logSoftmax } from '../autograd/ops/softmax.js';
import { type LossBatch, dot, zeroLoss } from './common.js';

export interface ContrastiveOptions {
  /** Temperature τ of the similarities (default 0.1). */
  temperature?: number;
}

/** Excludes the anchor itself from its softmax; large but finite so that 0·mask stays 0. */
const SELF_MASK = -1e9;

export function contrastive(h: Tensor, batch: LossBatch, opts: ContrastiveOptions = {}): Tensor {
  const tau = opts.temperature ?? 0.1;
  if (!(tau > 0) || !Number.isFinite(tau)) throw new Error(`contrastive: temperature must be > 0, got ${tau}`);
  const y = batch.labels;
  const n = y.length;
  if (h.shape.length !== 2 || h.shape[0] !== n) {
    throw new Error(`contrastive: expects a representation [${n}, d] (one row per label), got ${shapeStr(h.shape)}`);
  }
  const pos: number[] = [];
  for (let i = 0; i < n; i++) if (y[i]! > 0.5) pos.push(i);
  const P = pos.length;
  if (P < 2 || P === n) return zeroLoss(h);
  // u = h / ‖h‖ (row-wise); the 1e-12 keeps an all-zero row finite.
  const u = div(h, sqrt(affine(sum(square(h), 1, true), 1, 1e-12)));
  // Rows of the positives, gathered with a one-hot selection matrix (no dense gather op).
  const sel = new Float32Array(P * n);
  const mask = new Float32Array(P * n);
  const coef = new Float32Array(P * n);
  const c = -1 / (P * (P - 1));
  pos.forEach((i, a) => {
    sel[a * n + i] = 1;
    mask[a * n + i] = SELF_MASK;
    for (const k of pos) if (k !== i) coef[a * n + k] = c;
  });
  const uP = matmul(new Tensor(sel, [P, n]), u);
  const s = add(scale(matmul(uP, u, false, true), 1 / tau), new Tensor(mask, [P, n]));
  return dot(logSoftmax(s, 1), coef);
}
