/**
 * The probability `ctrkit predict` reports for a float64 logit, as graph nodes: the stored
 * calibration (Platt, isotonic as a clipped piecewise-linear lookup, downsampling, chains) or,
 * without one, σ with the recorded sampling correction; a task with its own sampling record
 * (a multi-task run's CTCVR) uses that instead, as scoreHeads does.
 */
import { calibratorFromJSON, type Calibrator } from '../../calibrate/calibrator.js';
import type { ModelManifest, SamplingRecord, TaskRecord } from '../modelFile.js';
import type { GraphBuilder } from './graph.js';
import { OnnxExportError } from './layers.js';
import { DataType } from './proto.js';

/** A float64 score of each row, in logit or probability space. */
interface Score {
  v: string;
  space: 'logit' | 'probability';
}

function toLogit(g: GraphBuilder, s: Score): string {
  if (s.space === 'logit') return s.v;
  return g.op('Log', [g.op('Div', [s.v, g.op('Sub', [g.doubles('one', Float64Array.of(1), []), s.v])])]);
}

function toProbability(g: GraphBuilder, s: Score): string {
  return s.space === 'probability' ? s.v : g.op('Sigmoid', [s.v]);
}

/** numpy.interp of v after clipping to [x₀, x_last] (IsotonicCalibrator's rule), in float64. */
function interpolateClipped(g: GraphBuilder, v: string, xs: Float64Array, ys: Float64Array): string {
  const K = xs.length;
  if (K === 1) return g.op('Expand', [g.doubles('y', Float64Array.of(ys[0]!), []), g.op('Shape', [v])]);
  const c = g.op('Max', [g.op('Min', [v, g.doubles('x_last', Float64Array.of(xs[K - 1]!), [])]), g.doubles('x_first', Float64Array.of(xs[0]!), [])]);
  // Segment j = how many interior knots lie at or below c: c ∈ [x_j, x_{j+1}].
  const j = K === 2
    ? g.op('Cast', [g.op('Mul', [c, g.doubles('zero', Float64Array.of(0), [])])], [{ name: 'to', int: DataType.INT64 }])
    : g.reduceSum(g.op('Cast', [g.op('GreaterOrEqual', [g.op('Unsqueeze', [c, g.int64s('axes', [1])]), g.doubles('knots', xs.slice(1, K - 1), [1, K - 2])])],
      [{ name: 'to', int: DataType.INT64 }]), [1], false);
  const at = (arr: string, idx: string): string => g.op('Gather', [arr, idx], [{ name: 'axis', int: 0 }]);
  const X = g.doubles('iso_x', xs, [K]);
  const Y = g.doubles('iso_y', ys, [K]);
  const j1 = g.op('Add', [j, g.int64s('one', [1], [])]);
  const x0 = at(X, j), x1 = at(X, j1), y0 = at(Y, j), y1 = at(Y, j1);
  return g.op('Add', [y0, g.op('Div', [g.op('Mul', [g.op('Sub', [c, x0]), g.op('Sub', [y1, y0])]), g.op('Sub', [x1, x0])])]);
}

function calibrate(g: GraphBuilder, cal: Calibrator, s: Score): Score {
  switch (cal.kind) {
    case 'platt': {
      if (cal.a === 0) return { v: g.op('Expand', [g.doubles('platt', Float64Array.of(1 / (1 + Math.exp(-cal.b))), []), g.op('Shape', [s.v])]), space: 'probability' };
      return { v: g.op('Add', [g.op('Mul', [toLogit(g, s), g.doubles('platt_a', Float64Array.of(cal.a), [])]), g.doubles('platt_b', Float64Array.of(cal.b), [])]), space: 'logit' };
    }
    case 'downsampling':
      return { v: g.op('Add', [toLogit(g, s), g.doubles('ln_rate', Float64Array.of(Math.log(cal.rate)), [])]), space: 'logit' };
    case 'isotonic': {
      const v = cal.space === 'logit' ? toLogit(g, s) : toProbability(g, s);
      return { v: interpolateClipped(g, v, cal.fit.x, cal.fit.y), space: 'probability' };
    }
    case 'chain': {
      let out = s;
      for (const step of cal.steps) out = calibrate(g, step, out);
      return out;
    }
  }
}

/** The probability predict reports for a float64 logit [N]: the calibration, else σ with the sampling correction. */
function probability(g: GraphBuilder, manifest: ModelManifest, z: string): string {
  if (manifest.calibration !== undefined) {
    let cal: Calibrator;
    try {
      cal = calibratorFromJSON(manifest.calibration, 'manifest.calibration');
    } catch (e) {
      throw new OnnxExportError((e as Error).message);
    }
    return toProbability(g, calibrate(g, cal, { v: z, space: 'logit' }));
  }
  return sampledSigmoid(g, manifest.sampling, z);
}

/** σ(z) corrected for the sampling record s: logit q = logit p + ln r − ln β (samplingCorrection.ts). */
function sampledSigmoid(g: GraphBuilder, s: SamplingRecord | undefined, z: string): string {
  if (s === undefined || !s.corrected) return g.op('Sigmoid', [z]);
  const shift = Math.log(s.negativeSampleRate) - Math.log(s.betaPos ?? 1);
  return g.op('Sigmoid', [g.op('Add', [z, g.doubles('sampling_shift', Float64Array.of(shift), [])])]);
}

/** A task's probability: its own sampling record when it has one (null: none), else the run's rule. */
export function taskProbability(g: GraphBuilder, manifest: ModelManifest, task: TaskRecord | undefined, z: string): string {
  if (task?.sampling === undefined) return probability(g, manifest, z);
  return sampledSigmoid(g, task.sampling ?? undefined, z);
}
