/**
 * Teacher-confidence weighting (SPEC §2, the coarse-ranking note): the teacher ranks worst
 * (lowest AUC) where its scores are lowest, so rows are weighted in the distillation term by
 * the bucket their teacher probability falls in:
 *   c_i = weights[k]   for edges[k−1] ≤ σ(s_t,i) < edges[k]   (edges[−1] = 0, edges[K] = 1 inclusive).
 * The weights multiply, they are not renormalised: weight 1 everywhere is plain distillation,
 * and a bucket at 0.5 halves what those rows add (renormalising would move that weight onto the
 * other buckets instead of trusting these rows less).
 */
export interface ConfidenceBuckets {
  /** Bucket boundaries on the teacher probability, strictly increasing, inside (0, 1). */
  edges: readonly number[];
  /** One weight per bucket (edges.length + 1), finite and ≥ 0. */
  weights: readonly number[];
}

export function checkConfidence(c: ConfidenceBuckets): void {
  if (c.weights.length !== c.edges.length + 1) {
    throw new Error(`confidence: ${c.edges.length} edges make ${c.edges.length + 1} buckets, but ${c.weights.length} weights were given`);
  }
  c.edges.forEach((e, k) => {
    if (!(e > 0 && e < 1)) throw new Error(`confidence: edges[${k}] = ${e} must be inside (0, 1) (a teacher probability)`);
    if (k > 0 && !(e > c.edges[k - 1]!)) throw new Error(`confidence: edges must increase, but edges[${k}] = ${e} follows ${c.edges[k - 1]}`);
  });
  c.weights.forEach((w, k) => {
    if (!(w >= 0 && Number.isFinite(w))) throw new Error(`confidence: weights[${k}] = ${w} must be a finite number ≥ 0`);
  });
}

/** c_i for each row, from the teacher's logits. */
export function confidenceWeights(zTeacher: ArrayLike<number>, c: ConfidenceBuckets): Float32Array {
  checkConfidence(c);
  const out = new Float32Array(zTeacher.length);
  for (let i = 0; i < zTeacher.length; i++) {
    const p = 1 / (1 + Math.exp(-zTeacher[i]!));
    let k = 0;
    while (k < c.edges.length && p >= c.edges[k]!) k++;
    out[i] = c.weights[k]!;
  }
  return out;
}
