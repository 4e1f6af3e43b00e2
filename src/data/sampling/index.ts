export { selectRows } from './subset.js';
export {
  correctDownsampled, correctSampled, correctSampledLogit, ctcvrSampleRate, ctcvrSampleRateFromLabels, negativeDownsample, negativeKeep, negativeWeights, type DownsampleOptions,
} from './negative.js';
export { combineWeights, positiveWeights } from './positiveWeight.js';
export { lossBasedSample } from './lossBased.js';
export { positionUniform, sampleStreamRows, type StreamSampling } from './stream.js';
export { bceOfLogit, lossKeepProbs, positionKeepProb, type LossKeepOptions, type PositionKeep } from './ipw.js';
