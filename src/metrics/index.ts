/** Evaluation metrics: pure functions over Float32Array / Float64Array / number[], float64 inside. */
export { UndefinedMetricError, type NumericArray } from './common.js';
export { auc, aucDetail, type AucDetail } from './auc.js';
export { StreamingAuc } from './streamingAuc.js';
export { logLoss, LOGLOSS_EPS } from './logLoss.js';
export { gauc, gaucDetail, perGroupAuc, type GroupAuc, type GaucDetail, type GroupKeys } from './gauc.js';
export { probabilitiesFromLogits } from './sigmoid.js';
export { predictionDifference } from './predictionDifference.js';
