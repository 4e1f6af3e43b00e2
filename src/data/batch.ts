/**
 * A mini-batch as the models and losses see it: categorical ids already mapped to global
 * rows of the embedding table, row-major [size, numFields].
 */
export interface Batch {
  size: number;
  numFields: number;
  /** Global embedding ids, [size * numFields]. */
  ids: Int32Array;
  /** Click / conversion labels (or graded relevance), [size]. */
  labels: Float32Array;
  /** Sample weights, [size]; undefined = all ones. */
  weights?: Float32Array;
  /** Group (list / query / request) boundaries, size+1 style offsets over the batch rows. */
  groupOffsets?: Int32Array;
}
