export { ConfigError } from './errors.js';
export {
  DataConfigSchema, DUCKDB_FORMATS, formatIssues, PARALLEL_FORMATS, sourcePath, withSourcePath, loadConfigFile, loadDataConfig, parseDataConfig, NUMERIC_TRANSFORMS,
  type CategoricalFieldConfig, type DataConfig, type FieldConfig, type LabelConfig, type NumericFieldConfig,
  type NumericTransform, type PositiveRule, type SequenceFieldConfig, type SamplingConfig, type SourceConfig, type SplitConfig,
} from './config.js';
export { fnv1a32, hashBucket } from './hash.js';
export { bucketIndex, log1pClamped, RunningMoments } from './numeric.js';
export { specFromConfig, type DenseSpec, type IdFieldSpec, type LabelSpec, type SchemaSpec, type SequenceSpec } from './spec.js';
export { FittedSchema, type FittedSchemaJSON } from './fitted.js';
export { buildDataset, type BuildResult, type BuildStats } from './build.js';
export { encodeFile, type EncodedFile, type EncodeFileOptions } from './encodeFile.js';
export { featureNames, RowEncoder, type CodedColumn, type FeatureColumn } from './encodeRows.js';
export { sliceRows } from './slice.js';
export { concatColumns, type StoredColumns } from './store.js';
export type { DataSplit } from './split.js';
export type { IngestOptions } from './ingest.js';
export { buildDatasetCached, cacheKey, dataRowFiles, dataSourceFiles, type CacheInfo, type CachedBuildOptions, type CachedBuildResult } from './cached.js';
export { sampleFitRows, type SampledFit } from './sampleFit.js';
export { oovShares, profileWithFitted, profileWithSchema, type SchemaFieldProfile, type SchemaProfile } from './profile.js';
export { csvFirstRecord } from './header.js';
export { GrowingVocab, GrowingVocabularies, type GrowingVocabOptions, type GrowingVocabState, type GrowingVocabStats } from './growingVocab.js';
export { openRowStream, streamSchema, STREAM_FORMATS, type RowStream, type StreamBatch, type StreamOptions, type StreamVocab } from './stream.js';
export { canReadAhead, openRowStreamAhead, READ_AHEAD_MIN_CORES, resolveReadAhead, type ReadAheadSetting, type ReadAheadSource } from './streamAhead.js';
