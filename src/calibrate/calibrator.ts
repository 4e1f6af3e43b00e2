/**
 * The serialisable calibrator stored in a model manifest: a tagged union of the fitted kinds, with
 * `apply` (probabilities or logits in, probabilities out), `toJSON` and {@link calibratorFromJSON}.
 * A chain applies several in order (e.g. downsampling correction, then Platt on the held-out split);
 * each step after the first receives the previous step's probabilities.
 */
import { BaseCalibrator } from './base.js';
import { IsotonicCalibrator } from './isotonic.js';
import { DownsamplingCalibrator } from './negativeSampling.js';
import { PlattCalibrator } from './platt.js';
import type { ScoreSpace } from './scoreSpace.js';

export class ChainCalibrator extends BaseCalibrator {
  readonly kind = 'chain';

  constructor(readonly steps: readonly Calibrator[]) {
    super();
    if (steps.length === 0) throw new RangeError('ChainCalibrator: needs at least one step');
  }

  protected map(x: number, input: ScoreSpace): number {
    let v = this.steps[0]!.applyOne(x, input);
    for (let i = 1; i < this.steps.length; i++) v = this.steps[i]!.applyOne(v, 'probability');
    return v;
  }

  toJSON(): { kind: 'chain'; steps: CalibratorJSON[] } {
    return { kind: 'chain', steps: this.steps.map((s) => s.toJSON()) };
  }
}

export type Calibrator = PlattCalibrator | IsotonicCalibrator | DownsamplingCalibrator | ChainCalibrator;

export type CalibratorJSON =
  | { kind: 'platt'; a: number; b: number }
  | { kind: 'isotonic'; space: ScoreSpace; x: number[]; y: number[] }
  | { kind: 'downsampling'; rate: number }
  | { kind: 'chain'; steps: CalibratorJSON[] };

/** Thrown for a manifest entry that is not a valid calibrator; the message names the offending path. */
export class CalibratorFormatError extends Error {
  override readonly name = 'CalibratorFormatError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new CalibratorFormatError(`${path}.${key}: expected a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function numArray(o: Record<string, unknown>, key: string, path: string): number[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'number' && Number.isFinite(e))) {
    throw new CalibratorFormatError(`${path}.${key}: expected an array of finite numbers`);
  }
  return v as number[];
}

/**
 * Rebuilds a calibrator from its JSON (parsed object). Validates everything, so a corrupted manifest
 * fails at load time rather than producing silent garbage at predict time.
 * @throws CalibratorFormatError naming the path of the first invalid field.
 */
export function calibratorFromJSON(json: unknown, path = 'calibrator'): Calibrator {
  if (!isRecord(json)) throw new CalibratorFormatError(`${path}: expected an object`);
  try {
    switch (json.kind) {
      case 'platt':
        return new PlattCalibrator(num(json, 'a', path), num(json, 'b', path));
      case 'downsampling':
        return new DownsamplingCalibrator(num(json, 'rate', path));
      case 'isotonic': {
        const space = json.space;
        if (space !== 'probability' && space !== 'logit') throw new CalibratorFormatError(`${path}.space: expected 'probability' or 'logit', got ${JSON.stringify(space)}`);
        return new IsotonicCalibrator(numArray(json, 'x', path), numArray(json, 'y', path), space);
      }
      case 'chain': {
        const steps = json.steps;
        if (!Array.isArray(steps)) throw new CalibratorFormatError(`${path}.steps: expected an array`);
        return new ChainCalibrator(steps.map((s, i) => calibratorFromJSON(s, `${path}.steps[${i}]`)));
      }
      default:
        throw new CalibratorFormatError(`${path}.kind: unknown calibrator kind ${JSON.stringify(json.kind)}`);
    }
  } catch (err) {
    // Constructor range checks (non-monotone isotonic points, rate outside (0, 1]) are format errors here.
    if (err instanceof RangeError) throw new CalibratorFormatError(`${path}: ${err.message}`);
    throw err;
  }
}

