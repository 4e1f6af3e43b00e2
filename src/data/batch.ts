/**
 * A mini-batch as the models and losses see it: categorical ids already mapped to global
 * rows of the embedding table, row-major [size, numFields], plus the optional columns of
 * `Dataset` restricted to the batch's rows.
 */
export interface Batch {
  size: number;
  numFields: number;
  /** Global embedding ids, [size * numFields]. */
  ids: Int32Array;
  /** Labels of the first task (click / conversion / graded relevance), [size]. */
  labels: Float32Array;
  /** All tasks' labels when there are several (labels === taskLabels[0]). */
  taskLabels?: Float32Array[];
  /** Sample weights, [size]; undefined = all ones. */
  weights?: Float32Array;
  /** Dense numeric features [size * denseDim]. */
  dense?: Float32Array;
  denseDim?: number;
  /** Multi-hot / sequence fields: per field, offsets [size+1] into ids. */
  sequences?: { offsets: Int32Array; ids: Int32Array }[];
  /** The teacher's logits of the batch rows (distillation), [size]. */
  teacherLogits?: Float32Array;
  /** Group (list / query / request) boundaries over the batch rows (numGroups+1 entries). */
  groupOffsets?: Int32Array;
}
