/**
 * The tasks of a run: which label each model head is trained and judged on, on which rows, with
 * which loss and weight. A config without `train.tasks` has one task, the first label, on every
 * row — today's single-task run, unchanged.
 *
 * `on: <label>` restricts a task to the rows where that label is 1: CVR is trained (naive or
 * shadow model) and evaluated on clicked rows only, while CTR and CTCVR use every impression.
 */
import { stepArena } from '../autograd/tape.js';
import type { Batch } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { RowRange } from '../data/prep/split.js';
import type { LossBatch } from '../losses/common.js';
import { zeroLoss } from '../losses/common.js';
import { createLoss, type LossConfig } from '../losses/registry.js';
import type { SamplingRecord, TaskRecord } from '../io/modelFile.js';
import { ctcvrSampleRate } from '../data/sampling/negative.js';
import type { Tensor } from '../tensor/tensor.js';
import { ConfigError } from '../schema/index.js';
import type { ExperimentConfig } from './config.js';

export interface RunTask {
  name: string;
  /** The model head it reads (its name unless train.tasks[].head says otherwise). */
  head: string;
  /** Index of the task's label in data.labels (and in Dataset.labels). */
  label: number;
  labelName: string;
  /** Index of the label whose 1-rows the task is restricted to, if any. */
  on?: number;
  onName?: string;
  /** Static weight of the task's loss; 0 = evaluated, not trained. */
  weight: number;
  loss?: LossConfig;
  /**
   * How its probabilities undo data.sampling when that differs from the first label's record
   * (taskSampling): a record, or null for none. Undefined: the run's record applies.
   */
  sampling?: SamplingRecord | null;
}

/** The run's tasks in config order (one, named after the first label, when train.tasks is absent). */
export function runTasks(cfg: ExperimentConfig): RunTask[] {
  const labels = cfg.data.labels.map((l) => l.name);
  const tasks = cfg.train.tasks;
  if (tasks === undefined) return [{ name: labels[0]!, head: labels[0]!, label: 0, labelName: labels[0]!, weight: 1, ...(cfg.train.loss && { loss: cfg.train.loss }) }];
  return tasks.map((t) => {
    const labelName = t.label ?? t.name;
    return {
      name: t.name, head: t.head ?? t.name, label: labels.indexOf(labelName), labelName, weight: t.weight,
      ...(t.on !== undefined && { on: labels.indexOf(t.on), onName: t.on }),
      ...(t.loss && { loss: t.loss }),
    };
  });
}

/** What the manifest keeps of the tasks (predict, eval and serve read it). */
export function taskRecords(tasks: readonly RunTask[]): TaskRecord[] {
  return tasks.map((t) => ({
    name: t.name, ...(t.head !== t.name && { head: t.head }), label: t.labelName,
    ...(t.onName !== undefined && { on: t.onName }), ...(t.sampling !== undefined && { sampling: t.sampling }),
  }));
}

/** The model heads the tasks read, each once, in the order tasks first name them. */
export function taskHeads(tasks: readonly RunTask[]): string[] {
  return [...new Set(tasks.map((t) => t.head))];
}

/**
 * A task's rows among [start, end): all of them, or those whose `on` label is 1 (absolute row
 * indices, ascending).
 */
export function taskRows(task: Pick<RunTask, 'on'>, ds: Dataset, rows: RowRange): Int32Array | RowRange {
  if (task.on === undefined) return rows;
  const on = ds.labels[task.on]!;
  const out: number[] = [];
  for (let r = rows.start; r < rows.end; r++) if (on[r] === 1) out.push(r);
  return Int32Array.from(out);
}

/**
 * Rows whose task label is positive where the `on` label is not (a conversion without a click):
 * ESMM assumes conversion ⊂ click. Returns the absolute row indices (ascending).
 */
export function inconsistentRows(task: RunTask, ds: Dataset): Int32Array {
  if (task.on === undefined) return new Int32Array(0);
  const y = ds.labels[task.label]!;
  const on = ds.labels[task.on]!;
  const out: number[] = [];
  for (let r = 0; r < ds.numRows; r++) if (y[r] !== 0 && on[r] !== 1) out.push(r);
  return Int32Array.from(out);
}

/**
 * Checks every `on` task: rows with a positive task label but no positive `on` label are an
 * error naming the first such row (onBadLine 'error'), or get weight 0 everywhere — neither
 * trained on nor counted in any metric — with a note (onBadLine 'skip'). Returns how many.
 */
export function handleInconsistentRows(tasks: readonly RunTask[], ds: Dataset, where: (row: number) => string, policy: 'error' | 'skip', note: (msg: string) => void): number {
  const bad = new Set<number>();
  for (const t of tasks) {
    const rows = inconsistentRows(t, ds);
    if (rows.length === 0) continue;
    if (policy === 'error') {
      throw new ConfigError([`${where(rows[0]!)}: task ${t.name}: label ${t.labelName} is ${ds.labels[t.label]![rows[0]!]} where label ${t.onName} is ${ds.labels[t.on!]![rows[0]!]} `
        + `(${rows.length} such rows); task ${t.name} is restricted to rows where ${t.onName} is 1 (train.tasks[].on). Fix the data, or set data.onBadLine: skip to drop these rows with a count`]);
    }
    for (const r of rows) bad.add(r);
    note(`ctrkit: task ${t.name}: ${rows.length} rows have ${t.labelName} positive without ${t.onName}; they are dropped (weight 0 in training and metrics)`);
  }
  if (bad.size > 0) {
    const w = ds.weights ?? new Float32Array(ds.numRows).fill(1);
    for (const r of bad) w[r] = 0;
    ds.weights = w;
  }
  return bad.size;
}

/**
 * data.sampling keeps the negatives of the first label (clicks) at rate r. Each task's
 * probabilities undo it by its own rate: r for the first label itself (the run's record); none for
 * a task on that label's positives (CVR on clicks: every click was kept); for a task whose
 * positives are all positives of the first label (a sale is always on a click), SPEC §3's CTCVR
 * rate r' = (x1 + x2) / (x1 / r + x2), x1 the kept rows without a click and x2 the clicks without a
 * sale, counted on the sampled fit rows. Other tasks cannot be corrected and are an error.
 */
export function taskSampling(tasks: RunTask[], ds: Dataset, fit: RowRange, run: SamplingRecord | undefined, where: string): void {
  if (run === undefined) return;
  const first = ds.labels[0]!.subarray(fit.start, fit.end);
  for (const t of tasks) {
    if (t.label === 0 && t.on === undefined) continue;
    if (t.on === 0) {
      t.sampling = null;
      continue;
    }
    if (t.on !== undefined) throw new ConfigError([`${where}: task ${t.name}: data.sampling samples the negatives of ${ds.labelNames[0]}, and a task on ${t.onName} cannot be corrected for it`]);
    if ((run.betaPos ?? 1) !== 1) throw new ConfigError([`${where}: task ${t.name}: data.sampling.betaPos with a task on another label than ${ds.labelNames[0]} is not supported (its odds shift is not closed-form)`]);
    const y = ds.labels[t.label]!.subarray(fit.start, fit.end);
    let x1 = 0, x2 = 0, outside = 0;
    for (let i = 0; i < y.length; i++) {
      if (first[i] !== 1) {
        x1++;
        if (y[i] !== 0) outside++;
      } else if (y[i] === 0) {
        x2++;
      }
    }
    if (outside > 0) throw new ConfigError([`${where}: task ${t.name}: data.sampling samples the negatives of ${ds.labelNames[0]}, but ${outside} fit rows have ${t.labelName} positive without ${ds.labelNames[0]}: its probabilities cannot be corrected (SPEC §3 needs ${t.labelName} ⊂ ${ds.labelNames[0]})`]);
    t.sampling = { negativeSampleRate: ctcvrSampleRate(x1, x2, run.negativeSampleRate), betaPos: 1, corrected: run.corrected };
  }
}

/**
 * The batch as task `task` sees it: its label, and weight 0 on rows outside its `on` rows. The
 * weights then live in the step arena: valid for the current step only.
 */
export function taskBatch(task: RunTask, b: Batch): LossBatch {
  const labels = b.taskLabels?.[task.label] ?? b.labels;
  if (task.on === undefined) return { labels, ...(b.weights && { weights: b.weights }), ...(b.groupOffsets && { groupOffsets: b.groupOffsets }) };
  const on = b.taskLabels![task.on]!;
  const weights = stepArena().f32(b.size);
  for (let i = 0; i < b.size; i++) weights[i] = on[i] === 1 ? (b.weights ? b.weights[i]! : 1) : 0;
  return { labels, weights };
}

/** Each task's loss function over the head of its name (a batch without rows of the task gives an exact 0). */
export function taskLoss(task: RunTask): (z: Tensor, b: Batch, step: number) => Tensor {
  const loss = task.loss ? createLoss(task.loss) : createLoss({ type: 'bce' });
  return (z, b, step) => {
    const lb = taskBatch(task, b);
    if (lb.weights && !lb.weights.some((w) => w > 0)) return zeroLoss(z);
    return loss(z, { ...b, ...lb }, { step });
  };
}
