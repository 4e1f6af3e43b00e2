/**
 * The native bf16 inference kernels (native/bf16_gemm.h): weight rounding and packing, row
 * rounding and the fused bf16 dense layer (native only: src/backend/reducedPrecision.ts).
 */
import type { Activation } from './kernels.js';
import { reducedPrecisionAddon } from './reducedPrecision.js';

export interface Bf16Kernels {
  /** uint16 elements of the packed weights of a [K, N] layer. */
  bf16PackedSize(K: number, N: number): number;
  /** W [K, N] → bf16 (round to nearest even; denormals → ±0) in the kernel's packed layout. */
  bf16PackWeights(W: Float32Array, K: number, N: number, packed: Uint16Array): void;
  /** X [M, K] → bf16 bits, the rounding bf16LinearForward applies to its input. */
  bf16RoundRows(X: Float32Array, M: number, K: number, out: Uint16Array): void;
  /** Y = act(bf16(X) · W + b), products summed in float32: see native/bf16_gemm.h for the exact arithmetic. */
  bf16LinearForward(X: Float32Array, M: number, K: number, N: number, packed: Uint16Array, b: Float32Array | null,
    Y: Float32Array, act: Activation, param: number): void;
  /** 'avx512bf16' or 'portable'. */
  bf16KernelName(): string;
  /** Tests: force 'avx512bf16' / 'portable', or 'auto'; false when the CPU lacks the path. */
  _bf16ForceKernel(name: 'avx512bf16' | 'portable' | 'auto'): boolean;
}

/** The bf16 kernels, or an error saying why bf16 scoring is unavailable. */
export function bf16Kernels(): Bf16Kernels {
  return reducedPrecisionAddon<Bf16Kernels>('bf16', 'bf16LinearForward');
}
