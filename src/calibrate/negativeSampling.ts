/**
 * The negative-downsampling correction (spec §3) as a calibrator, so that a model trained on a
 * downsampled set can ship with it. The sampling itself, its training weights and the correction
 * formulas are the data layer's (src/data/sampling/negative.ts); this only applies them to scores.
 */
import { checkRate, correctSampled, correctSampledLogit } from '../data/sampling/negative.js';
import { BaseCalibrator } from './base.js';
import { ScoreSpace, sigmoid } from './scoreSpace.js';

export class DownsamplingCalibrator extends BaseCalibrator {
  readonly kind = 'downsampling';

  constructor(readonly rate: number) {
    super();
    checkRate(rate, 'DownsamplingCalibrator');
  }

  protected map(x: number, input: ScoreSpace): number {
    return input === 'logit' ? sigmoid(correctSampledLogit(x, this.rate)) : correctSampled(x, this.rate);
  }

  toJSON(): { kind: 'downsampling'; rate: number } {
    return { kind: 'downsampling', rate: this.rate };
  }
}
