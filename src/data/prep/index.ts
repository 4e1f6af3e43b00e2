export { logBucket, logBucketValue } from './logBucket.js';
export { CategoricalField, LogBucketField, makeField, type FieldSpec, type FieldTransform, type RawValue } from './field.js';
export { fileOrderSplit, type RowRange, type SplitBounds, type SplitFractions } from './split.js';
export { encodeRows, sliceBatch, type EncodedDataset, type EncodeOptions, type LabeledRow } from './encode.js';
export { prepSha256, writePrepText } from './hash.js';
export {
  BENCH_DATASETS, BENCH_DATASET_NAMES, CENSUS_COLUMNS, loadBenchDataset, openBenchDataset,
  type BenchDataset, type BenchDatasetName, type DatasetRows,
} from './datasets.js';
