/**
 * A dense layer's weights quantised for int8 inference: per output column symmetric int8 with
 * one float scale per column, packed once (at load) in the native kernel's layout. Scoring with
 * them quantises each input row on the fly and accumulates in int32 (native/int8_gemm.h).
 */
import type { Activation } from '../backend/kernels.js';
import { int8Kernels } from '../backend/int8.js';
import type { Tensor } from '../tensor/tensor.js';
import { reducedForwardShape, type ReducedWeights } from './reducedWeights.js';

export class Int8Weights implements ReducedWeights {
  readonly precision = 'int8';

  private constructor(
    readonly inDim: number,
    readonly outDim: number,
    readonly scale: Float32Array,
    readonly packed: Int8Array,
    readonly colSum: Int32Array,
  ) {}

  /** Quantises W [inDim, outDim] (stored in × out, as Linear stores it). */
  static fromFloat(W: Float32Array, inDim: number, outDim: number): Int8Weights {
    const k = int8Kernels();
    const q = new Int8Array(inDim * outDim);
    const scale = new Float32Array(outDim);
    k.int8QuantizeWeights(W, inDim, outDim, q, scale);
    const packed = new Int8Array(k.int8PackedBytes(inDim, outDim));
    const colSum = new Int32Array(outDim);
    k.int8PackWeights(q, inDim, outDim, packed, colSum);
    return new Int8Weights(inDim, outDim, scale, packed, colSum);
  }

  forward(x: Tensor, b: Tensor | null, act: Activation, param: number): Tensor {
    const { M, out } = reducedForwardShape('int8', x, this.inDim, this.outDim);
    int8Kernels().int8LinearForward(x.data, M, this.inDim, this.outDim, this.packed, this.scale, this.colSum, b ? b.data : null, out.data, act, param);
    return out;
  }
}
