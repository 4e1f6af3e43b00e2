/**
 * Weight matrices pre-packed into the GEMM's panel layout for inference (Kernels.packWeights): at
 * serving batch sizes (100 rows) packing W on every call is a large share of a dense layer's
 * time, while constant weights need it once. A pack is derived from the parameter's values and
 * dropped when its version moves (an optimiser step, loadStateDict), so scoring after training
 * always uses the current weights.
 *
 * A pack is made on the second eval forward at one version, not the first: the first runs the
 * per-call-packing GEMM (the same bits), so weights that change between eval forwards (online
 * training's progressive validation scores each batch, then trains on it) never pay for a pack
 * used once, while constant weights (serving) pack on their second request.
 */
import { backend } from '../backend/index.js';
import type { Kernels } from '../backend/kernels.js';
import type { Parameter } from '../tensor/tensor.js';

interface Pack {
  /** null until the second use at this version. */
  data: Float32Array | null;
  version: number;
  kernels: Kernels;
}

/**
 * The key of a layer's WeightPacks, for tests and diagnostics only: kept off the public API
 * (this module is not exported by the package), so a layer's surface stays its forward.
 */
export const weightPacks: unique symbol = Symbol('weightPacks');

export class WeightPacks {
  private readonly packs = new Map<Parameter, Pack>();
  /** Packs made so far (each an allocation and a copy of a weight matrix). */
  made = 0;

  /** The pack of p ([K, N]), made now if p is used again at the same version; null where not (yet) packed. */
  get(p: Parameter): Float32Array | null {
    const k = backend();
    if (!k.packWeights) return null;
    const cur = this.packs.get(p);
    if (!cur || cur.version !== p.version || cur.kernels !== k) {
      this.packs.set(p, { data: null, version: p.version, kernels: k });
      return null;
    }
    if (!cur.data) {
      cur.data = k.packWeights(p.data, p.shape[0]!, p.shape[1]!);
      this.made++;
    }
    return cur.data;
  }

  /** Drops every pack (training: the weights are about to change, and the memory is better spent). */
  clear(): void {
    this.packs.clear();
  }

  /** Floats held by the packs (a served model's extra weight memory). */
  floats(): number {
    let n = 0;
    for (const p of this.packs.values()) n += p.data?.length ?? 0;
    return n;
  }
}
