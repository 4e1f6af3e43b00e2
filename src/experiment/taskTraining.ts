/**
 * Training and evaluating the tasks of a run configured with train.tasks: each task's loss on
 * its head, the multi-task method that combines them, and metrics per task (each on its own
 * rows: CVR on clicks, CTR and CTCVR on every impression). Metric records use `<task>.<metric>`
 * keys, plus the validation metric itself as the weighted mean over the validation tasks, which
 * is what picks the epoch.
 */
import type { Batch } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { RowRange } from '../data/prep/split.js';
import { scale } from '../autograd/ops/elementwise.js';
import { headKey, headLogits, MultiTaskModel, type CTRModel } from '../models/ctrModel.js';
import type { Tensor } from '../tensor/tensor.js';
import { predictHeads } from '../train/predict.js';
import { createMultiTaskMethod } from '../train/multitask/registry.js';
import type { TrainerOptions } from '../train/trainer.js';
import { metricsFor, type MetricsOptions } from './evaluate.js';
import { taskLoss, taskRows, type RunTask } from './tasks.js';
import type { ExperimentConfig } from './config.js';

/** The trainer's `tasks` option: the trained tasks' (weighted) losses and the method combining them. */
export function taskTrainerOptions(cfg: ExperimentConfig, tasks: readonly RunTask[], model: CTRModel, seed: number, step: () => number): NonNullable<TrainerOptions['tasks']> {
  const trained = tasks.filter((t) => t.weight > 0);
  const losses = trained.map(taskLoss);
  const lastShared = model instanceof MultiTaskModel ? new Set(model.lastSharedLayer()) : new Set();
  const method = createMultiTaskMethod(cfg.train.multitask ?? { type: 'static' }, {
    taskNames: trained.map((t) => t.name), weights: trained.map((t) => t.weight), seed,
    lastSharedLayer: model.namedParameters().filter(([, p]) => lastShared.has(p)).map(([n]) => n),
  }, `${cfg.file}: train.multitask`);
  return {
    names: trained.map((t) => t.name),
    method,
    losses: (m: CTRModel, b: Batch): Tensor[] => {
      const z = headLogits(m, b);
      return trained.map((t, i) => {
        const l = losses[i]!(z[headKey(m, t.head)]!, b, step());
        return t.weight === 1 ? l : scale(l, t.weight);
      });
    },
  };
}

/** Each task's rows among `rows` and its probabilities there. */
export interface TaskScores {
  task: RunTask;
  rows: Int32Array | RowRange;
  logits: Float32Array;
  probs: Float64Array;
}

/** Scores every task on its rows among `rows` (the model's heads are computed once). */
export function scoreTasks(model: CTRModel, ds: Dataset, rows: RowRange, tasks: readonly RunTask[], toProbs: (z: Float32Array, task: RunTask) => Float64Array): TaskScores[] {
  const heads = predictHeads(model, ds, rows);
  return tasks.map((task) => {
    const all = heads.get(headKey(model, task.head))!;
    const sub = taskRows(task, ds, rows);
    const logits = sub instanceof Int32Array ? Float32Array.from(sub, (r) => all[r - rows.start]!) : all;
    return { task, rows: sub, logits, probs: toProbs(logits, task) };
  });
}

/**
 * Metrics of scored tasks: `<task>.<metric>` for several tasks, the plain metric names for one.
 * With `combine`, also that metric's weighted mean over the weighted tasks (null when a task has
 * no value, e.g. one class only).
 */
export function taskMetrics(scores: readonly TaskScores[], ds: Dataset, opts: MetricsOptions, combine?: { metric: string; weights: Readonly<Record<string, number>> }): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const one = scores.length === 1;
  const values = new Map<string, Record<string, number | null>>();
  for (const s of scores) {
    const m = metricsFor(s.probs, ds, s.rows, { ...opts, label: s.task.label, positiveWeight: s.task.loss?.betaPos ?? 1 });
    values.set(s.task.name, m);
    for (const [k, v] of Object.entries(m)) out[one ? k : `${s.task.name}.${k}`] = v;
  }
  if (combine && !one) {
    let sw = 0, sv = 0, missing = false;
    for (const [name, w] of Object.entries(combine.weights)) {
      const v = values.get(name)?.[combine.metric];
      if (v === null || v === undefined) missing = true;
      else {
        sw += w;
        sv += w * v;
      }
    }
    out[combine.metric] = missing || sw === 0 ? null : sv / sw;
  }
  return out;
}

/** train.validationTasks, or every trained task with weight 1. */
export function validationWeights(cfg: ExperimentConfig, tasks: readonly RunTask[]): Record<string, number> {
  return cfg.train.validationTasks ?? Object.fromEntries(tasks.filter((t) => t.weight > 0).map((t) => [t.name, 1]));
}

/**
 * Why the combined validation metric is undefined: the weighted tasks whose own metric is null,
 * each with its label's counts on its validation rows (a task with one class only, say).
 */
export function undefinedTaskMetrics(metrics: Record<string, number | null>, tasks: readonly RunTask[], combine: { metric: string; weights: Readonly<Record<string, number>> }, ds: Dataset, rows: RowRange): string {
  const parts: string[] = [];
  for (const name of Object.keys(combine.weights)) {
    if (metrics[`${name}.${combine.metric}`] !== null) continue;
    const task = tasks.find((t) => t.name === name)!;
    const sub = taskRows(task, ds, rows);
    const y = ds.labels[task.label]!;
    const idx = sub instanceof Int32Array ? Array.from(sub) : Array.from({ length: sub.end - sub.start }, (_, i) => sub.start + i);
    const pos = idx.filter((r) => y[r] === 1).length;
    parts.push(`task ${name}: label ${task.labelName} has ${pos} positives and ${idx.length - pos} negatives on its ${idx.length} validation rows${task.onName === undefined ? '' : ` (where ${task.onName} is 1)`}`);
  }
  return parts.length === 0 ? '' : `: ${parts.join('; ')} — enlarge the validation split, or leave such a task out of train.validationTasks`;
}
