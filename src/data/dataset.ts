/**
 * The in-memory columnar dataset every producer (schema encoder, binary cache, DuckDB
 * ingestion, synthetic generator) builds and every consumer (batchers, trainer, metrics)
 * reads. Rows are in file order; all columns have `numRows` entries (times their width).
 */
export interface SequenceColumn {
  /** Field name (multi-hot / behaviour sequence). */
  name: string;
  /** Row r's ids are ids[offsets[r] .. offsets[r+1]); numRows+1 entries. */
  offsets: Int32Array;
  /** Global embedding ids (same id space as the categorical fields). */
  ids: Int32Array;
}

export interface Dataset {
  numRows: number;
  /** Single-valued categorical fields, one global id each per row. */
  numFields: number;
  fieldNames: string[];
  /** Row-major [numRows * numFields] global ids; field j lies in [fieldOffsets[j], +fieldSizes[j]). */
  ids: Int32Array;
  fieldSizes: Int32Array;
  fieldOffsets: Int32Array;
  /** Rows of the shared embedding table (sum of all field / sequence vocabularies). */
  numIds: number;
  /** One array per label (task) in `labelNames` order, each [numRows]. */
  labels: Float32Array[];
  labelNames: string[];
  /** Sample weights [numRows]; undefined = all ones. */
  weights?: Float32Array;
  /** Dense numeric features, row-major [numRows * denseNames.length]. */
  dense?: Float32Array;
  denseNames?: string[];
  /** Multi-hot / sequence fields. */
  sequences?: SequenceColumn[];
  /** Group (request / query / user) boundaries over rows: groups are contiguous runs; numGroups+1 entries. */
  groupOffsets?: Int32Array;
  /** Per-row keep probability from sampling (loss-based sampling uses 1/p weights). */
  keepProb?: Float32Array;
  /** Rate at which negatives were kept when the data was downsampled (1 = not sampled). */
  negativeSampleRate?: number;
  /** A teacher's logit per row (distillation, src/experiment/teacher.ts): constants, never trained. */
  teacherLogits?: Float32Array;
  /** Names of fields (categorical, dense or sequence) that only a teacher may see. */
  privileged?: string[];
}
