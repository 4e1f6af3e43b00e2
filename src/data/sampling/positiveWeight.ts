/**
 * Sampling weights follow one convention: a sampled row weighs its prior weight divided by its
 * keep probability (negativeWeights: positives 1, negatives 1/r; lossBasedSample: 1/p_i), so that
 * weighted sums over the sample estimate those over all rows; β_pos weighting (KDD'24) then
 * multiplies the positives' weights by β. The losses are means over Σw, so a model fitted with
 * both learns odds β times the real ones, and one fitted to downsampled rows without the weights
 * learns odds 1/r times them (correctSampled undoes both).
 *
 * positiveWeights: `base` (default all ones) with the positives of rows [0, end) multiplied by β.
 */
export function positiveWeights(labels: Float32Array, beta: number, base?: Float32Array, end = labels.length): Float32Array {
  if (!(beta > 0 && Number.isFinite(beta))) throw new RangeError(`positiveWeights: β must be positive and finite, got ${beta}`);
  if (base !== undefined && base.length !== labels.length) throw new Error(`positiveWeights: ${base.length} base weights for ${labels.length} labels`);
  const w = base === undefined ? new Float32Array(labels.length).fill(1) : base.slice();
  for (let i = 0; i < end; i++) if (labels[i]! > 0) w[i] = w[i]! * beta;
  return w;
}

/** Multiplies two weight vectors (e.g. β_pos × downsampling weights); undefined means all ones. */
export function combineWeights(a: Float32Array | undefined, b: Float32Array): Float32Array {
  if (a === undefined) return b.slice();
  if (a.length !== b.length) throw new Error(`combineWeights: lengths ${a.length} and ${b.length} differ`);
  const w = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) w[i] = a[i]! * b[i]!;
  return w;
}
