/**
 * How a training run scores a model: the validation metrics that pick the epoch (with several
 * tasks, also the combined metric), and after training the validation and test metrics of the
 * model saved, its calibration fitted on the validation rows, and the calibrated test metrics.
 * β_pos weights positives in evaluation as in training (SPEC §1).
 */
import type { RowRange } from '../data/prep/split.js';
import { PlattCalibrator } from '../calibrate/platt.js';
import { IsotonicCalibrator } from '../calibrate/isotonic.js';
import type { Calibrator } from '../calibrate/calibrator.js';
import type { EvaluationRecord } from '../io/modelFile.js';
import type { CTRModel } from '../models/ctrModel.js';
import { ConfigError } from '../schema/index.js';
import { predictRows } from '../train/predict.js';
import type { ExperimentConfig } from './config.js';
import { metricsFor, rowValues } from './evaluate.js';
import { scoreTasks, taskMetrics, undefinedTaskMetrics, validationWeights, type TaskScores } from './taskTraining.js';
import type { TrainData } from './trainData.js';
import type { TrainNetwork } from './trainNetwork.js';

type Metrics = Record<string, number | null>;

export interface Evaluation {
  /** What the manifest keeps for `ctrkit eval`: β_pos. */
  record: EvaluationRecord;
  hasValidation: boolean;
  /** A model's metrics on `rows` (and its task scores on the task path); `validation` adds the combined metric. */
  evaluateOn(m: CTRModel, rows: RowRange, validation: boolean): { scores?: TaskScores[]; metrics: Metrics };
  /** The trainer's `validate`: the student's validation metrics that have a value; undefined without validation rows. */
  validate: (() => Record<string, number>) | undefined;
}

export function createEvaluation(cfg: ExperimentConfig, data: TrainData, net: Pick<TrainNetwork, 'student' | 'search'>): Evaluation {
  const { ds, split, tasks, taskPath, probs, taskProbs } = data;
  const record: EvaluationRecord = { positiveWeight: cfg.train.loss?.betaPos ?? 1 };
  const metricName = cfg.train.validationMetric;
  const combine = { metric: metricName, weights: validationWeights(cfg, tasks) };
  const evaluateOn: Evaluation['evaluateOn'] = (m, rows, validation) => {
    if (!taskPath) return { metrics: metricsFor(probs(predictRows(m, ds, rows)), ds, rows, record) };
    const scores = scoreTasks(m, ds, rows, tasks, taskProbs);
    return { scores, metrics: taskMetrics(scores, ds, record, validation ? combine : undefined) };
  };
  const hasValidation = split.validation.end > split.validation.start;
  const validate = hasValidation
    ? (): Record<string, number> => {
      // The student (the trainer's module may be the student with its joint teacher).
      // A search's super-network is validated as the controller's current answer.
      net.search?.useBest();
      const all = evaluateOn(net.student, split.validation, true).metrics;
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(all)) if (v !== null) out[k] = v;
      if (!(metricName in out)) {
        const undefinedFor = taskPath && tasks.length > 1 ? undefinedTaskMetrics(all, tasks, combine, ds, split.validation) : '';
        throw new ConfigError([`${cfg.file}: train.validationMetric: '${metricName}' has no value on the validation rows${undefinedFor || ` (${JSON.stringify(all)})`}`]);
      }
      return out;
    }
    : undefined;
  return { record, hasValidation, evaluateOn, validate };
}

export interface FinalEvaluation {
  validation: Metrics;
  test: Metrics;
  testCalibrated: Metrics | undefined;
  calibrator: Calibrator | undefined;
  /** The task scores of the test rows (task path), the test logits and probabilities (of the first task), calibrated. */
  testScores: TaskScores[] | undefined;
  testLogits: Float32Array;
  testProbs: Float64Array;
  testCalibratedProbs: Float64Array | undefined;
}

/** The model as saved, on the validation and test rows; a joint teacher's test metrics as teacher_<metric>. */
export function evaluateTrained(cfg: ExperimentConfig, data: TrainData, evaluation: Evaluation, model: CTRModel, teacher: CTRModel | undefined): FinalEvaluation {
  const { ds, full, split, tasks, probs } = data;
  const validated = evaluation.hasValidation ? evaluation.evaluateOn(model, split.validation, true) : undefined;
  let calibrator: Calibrator | undefined;
  if (cfg.train.calibration !== 'none') {
    if (!evaluation.hasValidation) throw new ConfigError([`${cfg.file}: train.calibration: needs validation rows to fit on, and the validation split is empty`]);
    // One task (the config check refuses calibration of several): its logits on its rows.
    const v = validated!.scores?.[0];
    const zv = v ? v.logits : predictRows(model, ds, split.validation);
    const yv = v ? rowValues(ds.labels[tasks[0]!.label]!, v.rows) : ds.labels[0]!.subarray(split.validation.start, split.validation.end);
    calibrator = cfg.train.calibration === 'platt' ? PlattCalibrator.fit(zv, yv) : IsotonicCalibrator.fit(zv, yv, { space: 'logit' });
  }
  const hasTest = split.test.end > split.test.start;
  const tested = hasTest ? evaluation.evaluateOn(model, split.test, false) : undefined;
  const testScores = tested?.scores;
  const zt = testScores ? testScores[0]!.logits : hasTest ? predictRows(model, ds, split.test) : new Float32Array(0);
  const pt = testScores ? testScores[0]!.probs : probs(zt);
  const ptCalibrated = hasTest && calibrator ? calibrator.apply(zt, 'logit') : undefined;
  // A joint teacher is not saved; its test metrics say how much stronger than the student it was.
  const test = { ...tested?.metrics, ...(teacher && hasTest && teacherMetrics(metricsFor(probs(predictRows(teacher, full, split.test)), full, split.test, evaluation.record))) };
  const testCalibrated = ptCalibrated && (testScores
    ? taskMetrics([{ ...testScores[0]!, probs: ptCalibrated }], ds, evaluation.record)
    : metricsFor(ptCalibrated, ds, split.test, evaluation.record));
  return {
    validation: validated?.metrics ?? {}, test, testCalibrated, calibrator, testScores, testLogits: zt, testProbs: pt, testCalibratedProbs: ptCalibrated,
  };
}

function teacherMetrics(m: Metrics): Metrics {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`teacher_${k}`, v]));
}
