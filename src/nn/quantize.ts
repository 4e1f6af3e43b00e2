/**
 * Inference precision of a module's dense layers: 'int8' (src/nn/int8Linear.ts) or 'bf16'
 * (src/nn/bf16Linear.ts) gives every full-rank Linear a reduced-precision copy of its weights;
 * 'fp32' (the default) removes them. A layer the kernel cannot take stays fp32 and the report
 * says which and why, so nothing is approximated silently.
 */
import { Int8Weights } from './int8Linear.js';
import { Bf16Weights } from './bf16Linear.js';
import { int8Kernels } from '../backend/int8.js';
import { bf16Kernels } from '../backend/bf16.js';
import { Linear } from './linear.js';
import type { Module } from './module.js';
import type { ReducedWeights } from './reducedWeights.js';

export const PRECISIONS = ['fp32', 'int8', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Whether a flag's text names a precision. */
export function isPrecision(x: string): x is Precision {
  return (PRECISIONS as readonly string[]).includes(x);
}
export type ReducedPrecision = Exclude<Precision, 'fp32'>;

/** The int32 accumulator of the int8 kernel bounds the inner dimension (native/int8_gemm.h). */
export const INT8_MAX_IN_DIM = 65536;

/** A precision request the model cannot honour (a user error: wrong model kind, no native addon). */
export class PrecisionError extends Error {
  override readonly name = 'PrecisionError';
}

export interface LayerPrecision {
  /** The layer's path in the model, e.g. "mlp.layers.0". */
  layer: string;
  precision: Precision;
  /** Why a layer stayed fp32 under int8 / bf16. */
  reason?: string;
}

export interface PrecisionReport {
  precision: Precision;
  layers: LayerPrecision[];
  /** The kernel in use ('vnni' / 'avx512bf16', or 'portable': a correctness fallback, slower than fp32). */
  kernel?: string;
}

/** Per reduced precision: the weights' constructor, what the kernel cannot take, the kernel's name, the ISA it needs. */
const REDUCED: Record<ReducedPrecision, {
  make(W: Float32Array, inDim: number, outDim: number): ReducedWeights;
  refuse(inDim: number): string | undefined;
  kernel(): string;
  isa: string;
}> = {
  int8: {
    make: (W, i, o) => Int8Weights.fromFloat(W, i, o),
    refuse: (inDim) => (inDim > INT8_MAX_IN_DIM ? `input width ${inDim} > ${INT8_MAX_IN_DIM}` : undefined),
    kernel: () => int8Kernels().int8KernelName(),
    isa: 'AVX-512 VNNI',
  },
  bf16: {
    make: (W, i, o) => Bf16Weights.fromFloat(W, i, o),
    refuse: () => undefined,
    kernel: () => bf16Kernels().bf16KernelName(),
    isa: 'AVX-512 BF16',
  },
};

/** Sets the precision of every Linear in `model` and switches it to eval mode (inference only). */
export function setLinearPrecision(model: Module, precision: Precision): PrecisionReport {
  const layers: LayerPrecision[] = [];
  const spec = precision === 'fp32' ? null : REDUCED[precision];
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear)) continue;
    m.reduced = null;
    if (!spec) continue;
    const { inDim, outDim } = m.cfg;
    const reason = !m.W ? 'low-rank layer (U·V)' : spec.refuse(inDim);
    if (reason === undefined) {
      try {
        m.reduced = spec.make(m.W!.data, inDim, outDim);
      } catch (e) {
        throw new PrecisionError((e as Error).message);
      }
    }
    layers.push({ layer: name, precision: reason === undefined ? precision : 'fp32', ...(reason !== undefined && { reason }) });
  }
  model.eval();
  return { precision, layers, ...(spec && { kernel: spec.kernel() }) };
}

/** One line for stderr / logs: how many layers run reduced, and each fp32 fallback with its reason. */
export function precisionNote(r: PrecisionReport): string {
  if (r.precision === 'fp32') return 'precision fp32';
  const p = r.precision;
  const reduced = r.layers.filter((l) => l.precision === p).length;
  const fallbacks = r.layers.filter((l) => l.precision !== p).map((l) => `${l.layer} (${l.reason})`);
  const slow = r.kernel === 'portable' ? ` (portable ${p} kernel: this CPU lacks ${REDUCED[p].isa}, so ${p} is slower than fp32 here)` : '';
  return `precision ${p}: ${reduced} of ${r.layers.length} dense layers ${p}, embeddings fp32${slow}` +
    (fallbacks.length > 0 ? `; fp32 fallback: ${fallbacks.join(', ')}` : '');
}
