/**
 * Weight matrices pre-packed into the GEMM's panel layout for inference (Kernels.packWeights): at
 * serving batch sizes (100 rows) packing W on every call is a large share of a dense layer's
 * time, while constant weights need it once. A pack is derived from the parameter's values and
 * rebuilt when its version moves (an optimiser step, loadStateDict), so scoring after training
 * always uses the current weights.
 */
import { backend } from '../backend/index.js';
import type { Kernels } from '../backend/kernels.js';
import type { Parameter } from '../tensor/tensor.js';

interface Pack {
  data: Float32Array;
  version: number;
  kernels: Kernels;
}

export class WeightPacks {
  private readonly packs = new Map<Parameter, Pack>();

  /** The pack of p ([K, N]), made or remade now if p changed since; null where the backend does not pack. */
  get(p: Parameter): Float32Array | null {
    const k = backend();
    if (!k.packWeights) return null;
    const cur = this.packs.get(p);
    if (cur && cur.version === p.version && cur.kernels === k) return cur.data;
    const data = k.packWeights(p.data, p.shape[0]!, p.shape[1]!);
    this.packs.set(p, { data, version: p.version, kernels: k });
    return data;
  }

  /** Drops every pack (training: the weights are about to change, and the memory is better spent). */
  clear(): void {
    this.packs.clear();
  }

  /** Floats held by the packs (a served model's extra weight memory). */
  floats(): number {
    let n = 0;
    for (const p of this.packs.values()) n += p.data.length;
    return n;
  }
}
