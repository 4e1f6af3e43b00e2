/**
 * β_pos positive weighting (KDD'24): positives weigh β, negatives 1 — the weighting used instead
 * of (or on top of) negative downsampling to shift the effective class balance.
 */
export function positiveWeights(labels: Float32Array, beta: number): Float32Array {
  if (!(beta > 0 && Number.isFinite(beta))) throw new RangeError(`positiveWeights: β must be positive and finite, got ${beta}`);
  const w = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) w[i] = labels[i]! > 0 ? beta : 1;
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
