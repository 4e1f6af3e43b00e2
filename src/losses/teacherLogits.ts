/**
 * Teacher logits recovered from teacher probabilities (SPEC §2; the coarse-ranking note, whose
 * fine-ranking teacher is a stack of models with no single logit to read):
 *   s_t = clip( logit(p_t), −L, L ) = logit( clamp(p_t, σ(−L), σ(L)) ),     L = 10.
 * Clipping the logit is the same as clamping p to [σ(−L), σ(L)], so no separate ε is needed; it
 * keeps p = 0 or 1 (which a calibrated teacher can emit after rounding) from becoming ∓∞, which
 * would turn the distillation loss into NaN. A value outside [0, 1] or NaN is a data error, not
 * something to clamp: it names the row (and the file, line and field when the caller knows them).
 */
import { DataFormatError } from '../data/readers/errors.js';

/** |s_t| ≤ TEACHER_LOGIT_LIMIT: σ is flat beyond ±10 (σ(10) = 1 − 4.5e-5). */
export const TEACHER_LOGIT_LIMIT = 10;

/** Where the probabilities came from, for the error message. */
export interface TeacherSource {
  /** The data file. */
  file: string;
  /** The column holding the teacher's probabilities. */
  field: string;
  /** 1-based physical line of each value in the file (else the message names the row index). */
  lines?: ArrayLike<number>;
}

export function teacherLogits(probabilities: ArrayLike<number>, source?: TeacherSource): Float32Array {
  const out = new Float32Array(probabilities.length);
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (!(p >= 0 && p <= 1)) {
      const what = `teacher probability ${Number.isNaN(p) ? 'is NaN' : `${p} is outside [0, 1]`}`;
      if (!source) throw new Error(`teacherLogits: ${what} at row ${i}`);
      const line = source.lines?.[i];
      throw new DataFormatError(source.file, line, source.field, line === undefined ? `${what} (row ${i})` : what);
    }
    const s = Math.log(p) - Math.log1p(-p);
    out[i] = Math.min(TEACHER_LOGIT_LIMIT, Math.max(-TEACHER_LOGIT_LIMIT, s));
  }
  return out;
}
