/**
 * A dense layer's weights rounded to bf16 for inference (round to nearest even, once at load) and
 * packed in the native kernel's layout. Scoring with them rounds each input row to bf16 and sums
 * the products in float32 (native/bf16_gemm.h).
 */
import type { Activation } from '../backend/kernels.js';
import { bf16Kernels } from '../backend/bf16.js';
import type { Tensor } from '../tensor/tensor.js';
import { reducedForwardShape, type ReducedWeights } from './reducedWeights.js';

export class Bf16Weights implements ReducedWeights {
  readonly precision = 'bf16';

  private constructor(readonly inDim: number, readonly outDim: number, readonly packed: Uint16Array) {}

  /** Rounds W [inDim, outDim] (stored in × out, as Linear stores it). */
  static fromFloat(W: Float32Array, inDim: number, outDim: number): Bf16Weights {
    const k = bf16Kernels();
    const packed = new Uint16Array(k.bf16PackedSize(inDim, outDim));
    k.bf16PackWeights(W, inDim, outDim, packed);
    return new Bf16Weights(inDim, outDim, packed);
  }

  forward(x: Tensor, b: Tensor | null, act: Activation, param: number): Tensor {
    const { M, out } = reducedForwardShape('bf16', x, this.inDim, this.outDim);
    bf16Kernels().bf16LinearForward(x.data, M, this.inDim, this.outDim, this.packed, b ? b.data : null, out.data, act, param);
    return out;
  }
}
