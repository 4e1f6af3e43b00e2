/** Evaluation metrics: pure functions over Float32Array / Float64Array / number[], float64 inside. */
export { UndefinedMetricError, type NumericArray } from './common.js';
export { auc, aucDetail, type AucDetail } from './auc.js';
export { StreamingAuc } from './streamingAuc.js';
export { logLoss, LOGLOSS_EPS } from './logLoss.js';
export { gauc, gaucDetail, perGroupAuc, type GroupAuc, type GaucDetail, type GroupKeys } from './gauc.js';
export { probabilitiesFromLogits } from './sigmoid.js';
export { predictionDifference } from './predictionDifference.js';
export {
  equalWidthBins, equalFrequencyBins, type CalibrationBin, type BinOptions,
} from './calibrationBins.js';
export {
  ece, eceDetail, eceEqualFrequency, eceEqualFrequencyDetail, listEce, listEceDetail,
  type EceDetail, type ListEceOptions, type ListEceDetail,
} from './ece.js';
export { StreamingEce } from './streamingEce.js';
export { reliabilityDiagram, type ReliabilityDiagram } from './reliability.js';
export { ndcg, ndcgDetail, type NdcgOptions, type NdcgDetail, type GroupNdcg, type NdcgTies } from './ndcg.js';
export { calibrationBiasBySlice, type SliceBias } from './calibrationBias.js';
export { type GroupKeyArray } from './groups.js';
export {
  ProgressiveValidation, AUC_BINS, OTHER_SLICE, type ProgressiveOptions, type ProgressiveReport, type ProgressiveState, type WindowReport,
} from './progressive.js';
