/**
 * A finished training run's report (report.json / report.html): its evaluation as sections, one
 * list per task when it has several, and the bias constraints' test slices.
 */
import type { TrainResult } from '../train/trainer.js';
import type { BiasConstraintTerm } from './biasConstraintTerm.js';
import type { ExperimentConfig } from './config.js';
import type { TrainData } from './trainData.js';
import type { FinalEvaluation } from './trainEvaluation.js';
import { writeTrainingReport } from './trainReport.js';
import type { RunSettings } from './trainStart.js';

export interface FinishedRun {
  train: TrainResult;
  /** The model type as trained. */
  modelType: string;
  biasTerm: BiasConstraintTerm | undefined;
  seconds: number;
}

/** Writes the report; returns report.html's path. */
export function reportTraining(cfg: ExperimentConfig, run: RunSettings, data: TrainData, final: FinalEvaluation, done: FinishedRun): Promise<string> {
  const { ds, split, tasks } = data;
  const { validation, test, testCalibrated, testScores, testCalibratedProbs } = final;
  const { biasTerm } = done;
  const hasTest = split.test.end > split.test.start;
  return writeTrainingReport({
    cfg, output: run.output, dataset: ds, split, fitted: data.fitted, train: done.train, seed: run.seed, seconds: done.seconds, model: done.modelType,
    metrics: { validation, test, ...(testCalibrated && { test_calibrated: testCalibrated }) },
    testProbs: final.testProbs,
    ...(testScores && tasks.length > 1 && {
      tasks: testScores.map((sc) => ({
        name: sc.task.name, label: sc.task.label, rows: sc.rows, testProbs: sc.probs, positiveWeight: sc.task.loss?.betaPos ?? 1,
        metrics: { validation: taskPart(validation, sc.task.name), test: taskPart(test, sc.task.name) },
      })),
    }),
    ...(testScores && tasks.length === 1 && { label: tasks[0]!.label, rows: testScores[0]!.rows }), ...(testCalibratedProbs && { testCalibrated: testCalibratedProbs }),
    ...(biasTerm && hasTest && {
      constraint: { by: biasTerm.by, labels: biasTerm.labels, slices: biasTerm.rowSlices(final.testLogits, split.test.start, split.test.end), lambda: Array.from(biasTerm.constraint.lambda) },
    }),
  });
}

/** The `<task>.<metric>` entries of a metric record, by metric name. */
function taskPart(metrics: Record<string, number | null>, task: string): Record<string, number | null> {
  const prefix = `${task}.`;
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}
