import { backend } from '../backend/index.js';
import { reducePending } from '../autograd/ops/embedding.js';
import type { EmbeddingTable, Parameter } from '../tensor/tensor.js';

/**
 * Scales all gradients (dense and row-sparse) so that their global L2 norm is at most
 * maxNorm; returns the norm before clipping.
 */
export function clipGradNorm(params: readonly Parameter[], tables: readonly EmbeddingTable[], maxNorm: number): number {
  const k = backend();
  let sq = 0;
  for (const p of params) sq += k.sumSquares(p.grad, p.size);
  const sparse = tables.filter((t) => t.trainable && t.hasGrad()).map((t) => ({ t, g: t.sparseGrad(reducePending(t)) }));
  for (const { t, g } of sparse) sq += k.sumSquares(g.values, g.count * t.dim);
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) throw new Error(`clipGradNorm: gradient norm is ${norm}`);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / norm;
    for (const p of params) k.affine(p.grad, p.grad, p.size, s, 0);
    for (const { t, g } of sparse) k.affine(g.values, g.values, g.count * t.dim, s, 0);
  }
  return norm;
}
