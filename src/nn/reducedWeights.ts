/**
 * A dense layer's weights held in a reduced precision for inference (int8: src/nn/int8Linear.ts,
 * bf16: src/nn/bf16Linear.ts): a snapshot of W taken at load, scored by a native kernel, never
 * trained.
 */
import type { Activation } from '../backend/kernels.js';
import { empty, isGradEnabled } from '../autograd/tape.js';
import { shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ReducedWeights {
  readonly precision: 'int8' | 'bf16';
  /** y = act(x·W + b) with W in the reduced precision. */
  forward(x: Tensor, b: Tensor | null, act: Activation, param: number): Tensor;
}

/**
 * Checks x [M, inDim] for a reduced-precision layer and gives M and the output tensor [M, outDim].
 * Nothing is recorded, so it refuses to run while gradients are being recorded instead of giving
 * a layer that silently does not learn.
 */
export function reducedForwardShape(precision: string, x: Tensor, inDim: number, outDim: number): { M: number; out: Tensor } {
  if (isGradEnabled()) throw new Error(`${precision} layer: ${precision} precision is for inference only (score under noGrad)`);
  const [M, K] = x.shape.length === 2 ? [x.shape[0]!, x.shape[1]!] : [-1, -1];
  if (K !== inDim) throw new Error(`${precision} layer: x ${shapeStr(x.shape)} does not match W [${inDim}, ${outDim}] (in × out)`);
  return { M, out: empty([M, outDim]) };
}
