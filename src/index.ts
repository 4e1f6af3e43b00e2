/** ctrkit public API. */
export { backend, setBackend, referenceKernels, nativeKernels, dropoutUniform } from './backend/index.js';
export type { Kernels, Activation, UnaryOp, BinaryOp } from './backend/index.js';

export { Tensor, Parameter, EmbeddingTable } from './tensor/tensor.js';
export type { SparseGrad } from './tensor/tensor.js';
export { Rng } from './util/random.js';

export { backward, endStep, noGrad } from './autograd/tape.js';
export * from './autograd/ops/elementwise.js';
export { matmul, linear, segmentLinear } from './autograd/ops/linear.js';
export { sum, mean } from './autograd/ops/reduce.js';
export { reshape, concat, slice, split } from './autograd/ops/layout.js';
export { softmax, logSoftmax, segmentSoftmax, segmentLogSoftmax } from './autograd/ops/softmax.js';
export { segmentSum, segmentMean, segmentBroadcast, segmentWeightedSum, pairDiff, segmentPairs } from './autograd/ops/segment.js';
export { targetAttentionUnit } from './autograd/ops/attention.js';
export { bceWithLogits } from './autograd/ops/loss.js';
export { layerNorm, batchNorm } from './autograd/ops/norm.js';
export type { BatchNormState } from './autograd/ops/norm.js';
export { dropout } from './autograd/ops/dropout.js';
export { embeddingLookup, embeddingBag } from './autograd/ops/embedding.js';

export { Module } from './nn/module.js';
export { Linear } from './nn/linear.js';
export type { LinearConfig } from './nn/linear.js';
export { MLP } from './nn/mlp.js';
export type { MLPConfig } from './nn/mlp.js';
export { Embedding } from './nn/embedding.js';
export type { EmbeddingConfig } from './nn/embedding.js';
export { CrossNet } from './nn/crossNet.js';
export type { CrossNetConfig } from './nn/crossNet.js';

export { Optimizer } from './optim/optimizer.js';
export type { GroupOptions, GroupSpec, ParamGroup } from './optim/optimizer.js';
export { SGD } from './optim/sgd.js';
export type { SGDOptions } from './optim/sgd.js';
export { AdaGrad } from './optim/adagrad.js';
export type { AdaGradOptions } from './optim/adagrad.js';
export { Adam, AdamW } from './optim/adam.js';
export type { AdamOptions } from './optim/adam.js';
export { Shampoo } from './optim/shampoo.js';
export type { ShampooOptions } from './optim/shampoo.js';
export { clipGradNorm } from './optim/clip.js';

export type { Batch } from './data/batch.js';
export { CTRModel } from './models/ctrModel.js';
export { LR } from './models/lr.js';
export type { LRConfig } from './models/lr.js';
export { FM } from './models/fm.js';
export type { FMConfig } from './models/fm.js';
export { DNN } from './models/dnn.js';
export type { DNNConfig } from './models/dnn.js';
export { DCNv2 } from './models/dcnv2.js';
export type { DCNv2Config } from './models/dcnv2.js';
export { DIN } from './models/din.js';
export type { DINConfig, DINAttentionPair } from './models/din.js';
export { TwoTower } from './models/twoTower.js';
export type { TwoTowerConfig } from './models/twoTower.js';
export { QU } from './models/qu.js';
export type { QUConfig } from './models/qu.js';
export { FeatureLayout, FeatureLookupError } from './data/features.js';
export type { FeatureInfo, FeatureKind } from './data/features.js';

export { trainStep, NonFiniteLossError } from './train/step.js';
export { Trainer, NonFiniteTrainingError } from './train/trainer.js';
export type { TrainerOptions, TrainResult, ValidationMetric } from './train/trainer.js';
export { MemoryCheckpointStore, cloneCheckpoint } from './train/checkpoint.js';
export type { Checkpoint, CheckpointStore, CheckpointTag, TrainerState } from './train/checkpoint.js';
export { MetricLog, parseMetricLog } from './train/metricLog.js';
export type { MetricEvent, MetricLogOptions, MetricRecord, MetricSink, MetricValue } from './train/metricLog.js';
export { BarProgress, LineProgress, SilentProgress, createProgress } from './train/progress.js';
export type { EpochEnd, EpochStart, ProgressOptions, ProgressReporter, ProgressUpdate } from './train/progress.js';
export { predictRows } from './train/predict.js';

export * from './losses/index.js';

export * from './schema/index.js';
export * from './io/index.js';
export { createModel, parseModelConfig, modelConfigSchema, MODEL_TYPES } from './models/registry.js';
export type { ModelConfig, ModelConfigInput, ModelDims } from './models/registry.js';
export { createOptimizer, parseOptimizerConfig } from './optim/registry.js';
export type { OptimizerConfig, ConfiguredOptimizer } from './optim/registry.js';
export type { Dataset, SequenceColumn } from './data/dataset.js';
export * from './data/batching.js';
export {
  CACHE_FORMAT_VERSION, CacheCorruptError, writeCache, writeCacheChunks, CacheWriter, openCache, loadOrBuildCache,
  loadCacheDataset, CacheBlockReader, hashSchema,
} from './data/cache/index.js';
export type { CacheManifest, CacheKey, LoadedCache } from './data/cache/index.js';
export * from './data/sampling/index.js';
export * from './metrics/index.js';
export { FeatureInput } from './nn/featureInput.js';
export type { FeatureInputConfig } from './nn/featureInput.js';
export { TargetAttention } from './nn/targetAttention.js';
export { renderSvg, type ChartSpec, type RenderOptions } from './report/vega.js';
export {
  lineChartSpec, reliabilitySpec, sliceBiasSpec, type LineSeries, type LineChartOptions, type ReliabilitySeries, type SliceBiasRow,
} from './report/charts.js';
export {
  buildRunReport, rebuildRunReport, runReportHtml, writeRunReport, type RunReport, type TaskReport, type ReportSection,
} from './report/runReport.js';
