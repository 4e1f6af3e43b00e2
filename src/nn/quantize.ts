/**
 * Inference precision of a module's dense layers: 'int8' gives every full-rank Linear a
 * quantised copy of its weights (src/nn/int8Linear.ts); 'fp32' (the default) removes them. A
 * layer the int8 kernel cannot take stays fp32 and the report says which and why, so nothing
 * is approximated silently.
 */
import { Int8Weights } from './int8Linear.js';
import { int8Kernels } from '../backend/int8.js';
import { Linear } from './linear.js';
import type { Module } from './module.js';

export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

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
  /** Why a layer stayed fp32 under int8. */
  reason?: string;
}

export interface PrecisionReport {
  precision: Precision;
  layers: LayerPrecision[];
  /** The int8 kernel in use ('vnni', or 'portable': a correctness fallback, slower than fp32). */
  kernel?: string;
}

/** Sets the precision of every Linear in `model` and switches it to eval mode (inference only). */
export function setLinearPrecision(model: Module, precision: Precision): PrecisionReport {
  const layers: LayerPrecision[] = [];
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear)) continue;
    m.int8 = null;
    if (precision === 'fp32') continue;
    const { inDim, outDim } = m.cfg;
    let reason: string | undefined;
    if (!m.W) reason = 'low-rank layer (U·V)';
    else if (inDim > INT8_MAX_IN_DIM) reason = `input width ${inDim} > ${INT8_MAX_IN_DIM}`;
    if (reason === undefined) {
      try {
        m.int8 = Int8Weights.fromFloat(m.W!.data, inDim, outDim);
      } catch (e) {
        throw new PrecisionError((e as Error).message);
      }
    }
    layers.push({ layer: name, precision: reason === undefined ? 'int8' : 'fp32', ...(reason !== undefined && { reason }) });
  }
  model.eval();
  return { precision, layers, ...(precision === 'int8' && { kernel: int8Kernels().int8KernelName() }) };
}

/** One line for stderr / logs: how many layers run in int8, and each fp32 fallback with its reason. */
export function precisionNote(r: PrecisionReport): string {
  if (r.precision === 'fp32') return 'precision fp32';
  const int8 = r.layers.filter((l) => l.precision === 'int8').length;
  const fallbacks = r.layers.filter((l) => l.precision !== 'int8').map((l) => `${l.layer} (${l.reason})`);
  const slow = r.kernel === 'portable' ? ' (portable int8 kernel: this CPU lacks AVX-512 VNNI, so int8 is slower than fp32 here)' : '';
  return `precision int8: ${int8} of ${r.layers.length} dense layers int8, embeddings fp32${slow}` +
    (fallbacks.length > 0 ? `; fp32 fallback: ${fallbacks.join(', ')}` : '');
}
