/**
 * Pure-TypeScript kernels: the oracle for tests and the fallback where the native addon
 * cannot build. Single-threaded, float32 storage, float64 accumulation in reductions.
 */
import type { Kernels } from '../kernels.js';
import { targetAttention, targetAttentionBackward } from './attention.js';
import { activationBackward, affine, axpby, axpy, fill, unary, unaryBackward } from './elementwise.js';
import { binary, binaryBackward } from './broadcast.js';
import { dropout } from './dropout.js';
import { embeddingBackward, embeddingBag, embeddingLookup } from './embedding.js';
import { crossBackward, crossForward, gemm, linearBackward, linearForward } from './gemm.js';
import { bceWithLogits } from './loss.js';
import { batchNormBackward, batchNormTrain, layerNorm, layerNormBackward } from './norm.js';
import { adagradStep, adamStep, sgdStep, sparseAdagrad, sparseAdam, sparseSgd } from './optim.js';
import { combineRuns, copy2d, dot, gram, reduceSum, reduceSumBackward, sumSquares } from './reduce.js';
import { pairDiff, pairDiffBackward, segmentSum, segmentSumBackward } from './segment.js';
import { segmentSoftmax, segmentSoftmaxBackward, softmax, softmaxBackward } from './softmax.js';

export const referenceKernels: Kernels = {
  name: 'reference',
  // Single-threaded by design: the thread count cannot change any result.
  setThreads(_n: number): void {},
  getThreads(): number { return 1; },
  gemm,
  linearForward,
  linearBackward,
  crossForward,
  crossBackward,
  unary,
  unaryBackward,
  activationBackward,
  binary,
  binaryBackward,
  affine,
  axpy,
  axpby,
  fill,
  reduceSum,
  reduceSumBackward,
  copy2d,
  sumSquares,
  dot,
  gram,
  combineRuns,
  softmax,
  softmaxBackward,
  segmentSoftmax,
  segmentSoftmaxBackward,
  segmentSum,
  segmentSumBackward,
  pairDiff,
  pairDiffBackward,
  targetAttention,
  targetAttentionBackward,
  bceWithLogits,
  layerNorm,
  layerNormBackward,
  batchNormTrain,
  batchNormBackward,
  dropout,
  embeddingLookup,
  embeddingBag,
  embeddingBackward,
  sgdStep,
  adagradStep,
  adamStep,
  sparseSgd,
  sparseAdagrad,
  sparseAdam,
};
