/** What every calibrator shares: scalar and array application in either score space. */
import type { NumericArray } from '../metrics/common.js';
import { ScoreSpace, checkScore } from './scoreSpace.js';

export abstract class BaseCalibrator {
  abstract readonly kind: string;

  /** The calibrated probability of one valid score (already checked). */
  protected abstract map(x: number, input: ScoreSpace): number;

  abstract toJSON(): object;

  /** Calibrated probability of one score given as a probability (default) or a logit. */
  applyOne(x: number, input: ScoreSpace = 'probability'): number {
    checkScore(`${this.kind} calibrator`, x, input, 0);
    return this.map(x, input);
  }

  /**
   * Calibrated probabilities of `scores` (probabilities by default, or logits), as a new Float64Array.
   * @throws RangeError naming the index of the first NaN or out-of-range score.
   */
  apply(scores: NumericArray, input: ScoreSpace = 'probability'): Float64Array {
    const out = new Float64Array(scores.length);
    for (let i = 0; i < scores.length; i++) {
      const x = scores[i]!;
      checkScore(`${this.kind} calibrator`, x, input, i);
      out[i] = this.map(x, input);
    }
    return out;
  }
}
