/**
 * The native int8 inference kernels (native/int8_gemm.h): weight quantisation and packing, row
 * quantisation and the fused int8 dense layer (native only: src/backend/reducedPrecision.ts).
 */
import type { Activation } from './kernels.js';
import { reducedPrecisionAddon } from './reducedPrecision.js';

export interface Int8Kernels {
  /** Bytes of the packed weights of a [K, N] layer. */
  int8PackedBytes(K: number, N: number): number;
  /** Per output column: scale[j] = max|W[:,j]| / 127, Q = round-half-even(W / scale) in [−127, 127]. */
  int8QuantizeWeights(W: Float32Array, K: number, N: number, Q: Int8Array, scale: Float32Array): void;
  /** Q [K, N] → the kernel's packed layout, and colSum[j] = Σ_k Q[k, j]. */
  int8PackWeights(Q: Int8Array, K: number, N: number, packed: Int8Array, colSum: Int32Array): void;
  /** Per-row asymmetric uint8 quantisation of X [M, K] (what int8LinearForward does first). */
  int8QuantizeRows(X: Float32Array, M: number, K: number, Xq: Uint8Array, scale: Float32Array, zp: Int32Array): void;
  /** Y = act(dequant(Xq · Q) + b): see native/int8_gemm.h for the exact arithmetic. */
  int8LinearForward(X: Float32Array, M: number, K: number, N: number, packed: Int8Array, wScale: Float32Array,
    colSum: Int32Array, b: Float32Array | null, Y: Float32Array, act: Activation, param: number): void;
  /** 'vnni' (AVX-512 VNNI) or 'portable'. */
  int8KernelName(): string;
  /** Tests: force 'vnni' / 'portable', or 'auto'; false when the CPU lacks the path. */
  _int8ForceKernel(name: 'vnni' | 'portable' | 'auto'): boolean;
}

/** The int8 kernels, or an error saying why int8 scoring is unavailable. */
export function int8Kernels(): Int8Kernels {
  return reducedPrecisionAddon<Int8Kernels>('int8', 'int8LinearForward');
}
