/**
 * The rows a training run learns from: the dataset built from the config's schema (or its
 * cache), a distillation teacher's scores attached, the fit rows sampled, the student's view
 * without the privileged columns, and the tasks checked against those rows.
 */
import type { ColumnProjection } from '../data/projection.js';
import type { Dataset } from '../data/dataset.js';
import type { SamplingRecord } from '../io/modelFile.js';
import { buildDatasetCached, ConfigError, sampleFitRows, type CachedBuildResult, type DataSplit, type FittedSchema } from '../schema/index.js';
import type { ExperimentConfig } from './config.js';
import { probabilities } from './evaluate.js';
import { rowPlace } from './rowPlace.js';
import { correctForSampling, samplingRecord } from './samplingCorrection.js';
import { fitKeepProbs, withPositionLabel } from './samplingKeep.js';
import { handleInconsistentRows, runTasks, taskSampling, type RunTask } from './tasks.js';
import { attachTeacher, buildDataConfig, teacherColumnCheck, type TeacherData } from './teacher.js';
import type { RunSettings } from './trainStart.js';

export interface TrainData {
  /** The build: every feature (privileged ones included), stats and cache. */
  built: CachedBuildResult;
  /** Every row, every feature (what a joint teacher reads). */
  full: Dataset;
  /** The student's view of `full`: without the privileged columns (projection), with their schema. */
  ds: Dataset;
  fitted: FittedSchema;
  projection: ColumnProjection | undefined;
  split: DataSplit;
  fitRows: number;
  /** An attached distillation teacher's scores and their record (train.distill). */
  taught: TeacherData | undefined;
  sampling: SamplingRecord | undefined;
  /** Probabilities on the real data's scale: sampled training shifts the odds by a known factor. */
  probs: (z: Float32Array) => Float64Array;
  /** A task's own correction (taskSampling) replaces the run's: null = none. */
  taskProbs: (z: Float32Array, t: RunTask) => Float64Array;
  tasks: RunTask[];
  /** The task path: train.tasks given (several tasks, or one on some rows / with its own name). */
  taskPath: boolean;
}

export async function loadTrainData(cfg: ExperimentConfig, run: RunSettings, note: (msg: string) => void): Promise<TrainData> {
  const { onBadLine, seed } = run;
  const teacherCheck = teacherColumnCheck(cfg);
  const read = await buildDatasetCached(withPositionLabel(buildDataConfig(cfg)), cfg.baseDir, { onBadLine, log: note, ...(teacherCheck && { onRow: teacherCheck }) });
  if (read.cache !== undefined) note(`ctrkit: dataset ${read.cache.rebuilt ? 'built and cached in' : 'loaded from the cache'} ${read.cache.dir}`);
  const taught = cfg.train.distill && await attachTeacher(cfg, read, { onBadLine, note });
  // data.sampling.loss / .position: the fit rows' keep probabilities (and the position label taken off).
  const { built, ipw } = await fitKeepProbs(cfg, taught?.built ?? read, { onBadLine, note });
  const { stats } = built;
  const { dataset: full, split } = cfg.data.sampling === undefined ? built : sampleFitRows(built.dataset, built.split, cfg.data.sampling, seed, ipw);
  const view = built.fitted.withoutPrivileged();
  const ds = view ? view.projection.dataset(full) : full;
  const sampling = samplingRecord(ds.negativeSampleRate, cfg.data.sampling?.betaPos, cfg.train.correctSampling);
  const probs = (z: Float32Array): Float64Array => correctForSampling(probabilities(z), sampling);
  const taskProbs = (z: Float32Array, t: RunTask): Float64Array => correctForSampling(probabilities(z), t.sampling === undefined ? sampling : t.sampling ?? undefined);
  const tasks = runTasks(cfg);
  const taskPath = cfg.train.tasks !== undefined;
  if (taskPath) {
    handleInconsistentRows(tasks, ds, (r) => rowPlace(cfg, split, r), onBadLine, note);
    taskSampling(tasks, ds, split.fit, sampling, cfg.file);
  }
  const fitRows = split.fit.end - split.fit.start;
  if (fitRows === 0) throw new ConfigError([`${cfg.file}: data.split: the fit split is empty (${stats.rows} rows read)`]);
  note(`ctrkit: ${stats.rows} rows (fit ${fitRows}${sampling === undefined ? '' : ` after sampling`}, validation ${split.validation.end - split.validation.start}, ` +
    `test ${split.test.end - split.test.start}), ${ds.numFields} fields, ${ds.numIds} ids` +
    (stats.skippedLines > 0 ? `, ${stats.skippedLines} bad lines skipped` : ''));
  return {
    built, full, ds, fitted: view?.fitted ?? built.fitted, projection: view?.projection, split, fitRows, taught, sampling, probs, taskProbs, tasks, taskPath,
  };
}
