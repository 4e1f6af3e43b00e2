/**
 * What the distillation losses read from the teacher: its logits as constants (never on the
 * tape, which is the stop-gradient of joint training, SPEC §2), checked once, and the teacher's
 * target distribution within each list. Distributions are computed in float64 from log σ or
 * the logits themselves, so a list of very negative teacher logits (σ underflowing to 0) still
 * gives a proper distribution rather than 0/0.
 */
import { Tensor } from '../tensor/tensor.js';

/** Teacher logits [N]: numbers, or a tensor whose values are read (no gradient reaches it). */
export type TeacherLogits = ArrayLike<number> | Tensor;

/** The teacher's logits as plain values, checked against the batch size and for NaN / ±∞. */
export function teacherValues(op: string, zTeacher: TeacherLogits, n: number): ArrayLike<number> {
  const t = zTeacher instanceof Tensor ? zTeacher.data : zTeacher;
  if (t.length !== n) throw new Error(`${op}: ${t.length} teacher logits for ${n} student logits`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(t[i]!)) throw new Error(`${op}: teacher logit ${t[i]} at row ${i} of the batch is not finite`);
  }
  return t;
}

/** log σ(x) = −softplus(−x), without overflow for either sign. */
export function logSigmoid(x: number): number {
  return -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
}

/**
 * How the teacher's scores become a distribution over a list:
 *  - 'probability': P_t(i) = p_t,i / Σ_j p_t,j with p = σ(s_t) (CLID; SPEC §2's ListNet-KD);
 *  - 'softmax':     P_t(i) = softmax(s_t)_i (ListNet's usual top-one probability).
 */
export type TeacherDistribution = 'probability' | 'softmax';

/**
 * P_t per row (0 outside the counted lists), and how many lists count: those with at least two
 * rows, since a one-row list has P = 1 on both sides and nothing to distil.
 */
export function listDistribution(offsets: Int32Array, zTeacher: ArrayLike<number>, kind: TeacherDistribution):
  { target: Float64Array; lists: number } {
  const target = new Float64Array(zTeacher.length);
  const score = kind === 'probability' ? logSigmoid : (x: number): number => x;
  let lists = 0;
  for (let s = 0; s + 1 < offsets.length; s++) {
    const [a, b] = [offsets[s]!, offsets[s + 1]!];
    if (b - a < 2) continue;
    lists++;
    let m = -Infinity;
    for (let i = a; i < b; i++) m = Math.max(m, score(zTeacher[i]!));
    let total = 0;
    for (let i = a; i < b; i++) total += target[i] = Math.exp(score(zTeacher[i]!) - m);
    for (let i = a; i < b; i++) target[i] = target[i]! / total;
  }
  return { target, lists };
}

/** −target_i / lists as float32 coefficients of a per-row log-probability (see common.dot). */
export function crossEntropyCoefficients(target: Float64Array, lists: number): Float32Array {
  const coef = new Float32Array(target.length);
  for (let i = 0; i < target.length; i++) coef[i] = -target[i]! / lists;
  return coef;
}
