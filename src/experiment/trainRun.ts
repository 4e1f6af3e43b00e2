/**
 * `ctrkit train CONFIG`: builds the dataset from the config's schema, trains the configured
 * model with checkpoints, a JSONL log and a progress bar, picks the best epoch on the
 * validation rows, fits the optional calibration there, evaluates the test rows and writes
 * the model directory (manifest + safetensors) that `predict` and `eval` load.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { backend } from '../backend/index.js';
import { GroupBatches, ShuffledBatches, type BatchSource } from '../data/batching.js';
import { buildDatasetCached, ConfigError, csvFirstRecord, dataRowFiles, dataSourceFiles, sampleFitRows } from '../schema/index.js';
import { createModel, type ModelConfig, type ModelDims } from '../models/registry.js';
import { createOptimizer } from '../optim/registry.js';
import { createLoss, keepsListsWhole, lossLogits, needsRepresentation } from '../losses/registry.js';
import { Trainer, type TrainResult } from '../train/trainer.js';
import { MetricLog } from '../train/metricLog.js';
import { createProgress } from '../train/progress.js';
import { FileCheckpointStore } from '../io/checkpointStore.js';
import { saveModel, type EvaluationRecord, type JsonValue, type SamplingRecord } from '../io/modelFile.js';
import { savedSchema } from './savedSchema.js';
import { ensureDir } from '../io/atomic.js';
import { dataHash } from '../io/provenance.js';
import { PlattCalibrator } from '../calibrate/platt.js';
import { IsotonicCalibrator } from '../calibrate/isotonic.js';
import type { Calibrator } from '../calibrate/calibrator.js';
import { weightedBce } from '../losses/weightedBce.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { Batch } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { CacheInfo, DataSplit } from '../schema/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { parseExperimentConfig, type ExperimentConfig } from './config.js';
import { metricsFor, probabilities, rowValues } from './evaluate.js';
import { predictRows } from '../train/predict.js';
import { correctForSampling, samplingRecord } from './samplingCorrection.js';
import { fitKeepProbs, withPositionLabel } from './samplingKeep.js';
import { trainingProbes } from './probes.js';
import { checkResumeConfig } from './resumeGuard.js';
import { sliceLabel, writeTrainingReport } from './trainReport.js';
import { createBiasConstraintTerm } from './biasConstraintTerm.js';
import { startSearch } from './search.js';
import { add } from '../autograd/ops/elementwise.js';
import { headsAreTasks } from '../models/registry.js';
import { handleInconsistentRows, runTasks, taskHeads, taskRecords, taskSampling, type RunTask } from './tasks.js';
import { distillListwise } from './distillConfig.js';
import { attachTeacher, buildDataConfig, createJointTeacher, distillationRecord, distillationTerms, JointDistillModel, teacherColumnCheck } from './teacher.js';
import { combineLosses } from '../losses/combined.js';
import { scoreTasks, taskMetrics, taskTrainerOptions, undefinedTaskMetrics, validationWeights, type TaskScores } from './taskTraining.js';

export interface TrainRunOptions {
  /** Continue from the output directory's last checkpoint. */
  resume?: boolean;
  /** Resume even when the checkpoint was written under another config (implies resume). */
  forceResume?: boolean;
  /** No progress bar / epoch lines. */
  quiet?: boolean;
  /** Overrides the config's data.onBadLine. */
  onBadLine?: 'error' | 'skip';
  /** Overrides the config's seed (e.g. for seed sweeps). */
  seed?: number;
  /** Overrides the config's output directory. */
  output?: string;
  /** Overrides the config's train.threads (experiments run 1 per run when runs share cores). */
  threads?: number;
  signal?: AbortSignal;
  /** Where progress lines and notes go (default stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface TrainRunResult {
  /** The trained model (best epoch's weights), as saved. */
  model: CTRModel;
  /** All rows read, ordered fit, validation, test, and the split. */
  dataset: Dataset;
  split: DataSplit;
  output: string;
  modelDir: string;
  /** The JSONL training log and the checkpoints directory (under output). */
  logFile: string;
  checkpointsDir: string;
  /**
   * The tasks (train.tasks, or the one first-label task). With several, metric records use
   * `<task>.<metric>` keys, and validation also has the combined metric that picked the epoch.
   */
  tasks: RunTask[];
  /** Which kernels ran (native addon or TypeScript reference) and with how many threads. */
  backend: { name: 'native' | 'reference'; threads: number };
  train: TrainResult;
  validation: Record<string, number | null>;
  test: Record<string, number | null>;
  /** Test metrics after calibration (when configured). */
  testCalibrated?: Record<string, number | null>;
  rows: { fit: number; validation: number; test: number; skippedLines: number };
  /** data.sampling as recorded in the manifest (undefined: not sampled). */
  sampling?: SamplingRecord;
  /** data.cache: where, and whether this run (re)built it. */
  cache?: CacheInfo;
  /** <output>/report.html (its data: report.json beside it). */
  report: string;
  seconds: number;
}

/**
 * The model section as trained and saved: a dnn / dcnv2 whose `logits` is unset gets the
 * two-logit head when the loss is JRC, so a loss grid can switch to JRC without a second axis.
 */
function resolveModelConfig(cfg: ExperimentConfig): ModelConfig {
  const m = cfg.model;
  const loss = cfg.train.loss;
  if (loss !== undefined && lossLogits(loss.type) === 2 && (m.type === 'dnn' || m.type === 'dcnv2') && m.logits === undefined) return { ...m, logits: 2 };
  return m;
}

/**
 * Every data file of the config must exist before anything else runs; a missing one is named, and
 * when its path goes through a `shared` folder (the examples read ../shared/data) the message says
 * where that folder is expected, since that is the usual cause.
 */
function checkDataSources(cfg: ExperimentConfig): void {
  for (const file of dataSourceFiles(cfg.data, cfg.baseDir)) {
    if (existsSync(file)) continue;
    const shared = /^(.*[\\/]shared)[\\/]/.exec(file);
    const hint = shared && !existsSync(shared[1]!)
      ? `; the shared data folder is expected at ${shared[1]}: run from the repository root (a config's paths are relative to the working directory) with the shared data folder beside the repository (CTRKIT_SHARED_DATA relocates it for the tests and benchmarks only)`
      : '';
    throw new ConfigError([`${cfg.file}: data file ${file} does not exist${hint}`]);
  }
}

export async function runTraining(cfg: ExperimentConfig, opts: TrainRunOptions = {}): Promise<TrainRunResult> {
  const t0 = performance.now();
  const stream = opts.stream ?? process.stderr;
  const note = (msg: string): void => {
    if (!opts.quiet) stream.write(`${msg}\n`);
  };
  const output = resolve(cfg.baseDir, opts.output ?? cfg.output);
  const seed = opts.seed ?? cfg.train.seed;
  const threads = opts.threads ?? cfg.train.threads;
  const resume = opts.resume === true || opts.forceResume === true;
  const modelConfig = resolveModelConfig(cfg);
  // What the checkpoints record and a resume compares: the config as this run applies it.
  const runConfig = {
    data: { ...cfg.data, onBadLine: opts.onBadLine ?? cfg.data.onBadLine }, model: modelConfig, train: { ...cfg.train, seed, threads },
  };
  const checkpointDir = join(output, 'checkpoints');
  const checkpoints = new FileCheckpointStore(checkpointDir);
  if (resume && !opts.forceResume) {
    // Before the data set is built: a refused resume should cost nothing.
    const saved = checkpoints.peek('last');
    if (saved) checkResumeConfig(saved.config, runConfig, saved.trainer, checkpoints.path('last'));
  }
  if (threads) backend().setThreads(threads);
  checkDataSources(cfg);
  // Before reading any data: an output directory that cannot be created should not cost a data pass.
  ensureDir(output);

  const onBadLine = opts.onBadLine ?? cfg.data.onBadLine;
  const teacherCheck = teacherColumnCheck(cfg);
  const read = await buildDatasetCached(withPositionLabel(buildDataConfig(cfg)), cfg.baseDir, { onBadLine, log: note, ...(teacherCheck && { onRow: teacherCheck }) });
  if (read.cache !== undefined) note(`ctrkit: dataset ${read.cache.rebuilt ? 'built and cached in' : 'loaded from the cache'} ${read.cache.dir}`);
  const distill = cfg.train.distill;
  const taught = distill && await attachTeacher(cfg, read, { onBadLine, note });
  // data.sampling.loss / .position: the fit rows' keep probabilities (and the position label taken off).
  const { built, ipw } = await fitKeepProbs(cfg, taught?.built ?? read, { onBadLine, note });
  const { stats } = built;
  // Every row, every feature (what a joint teacher reads), and the student's view of it without the privileged columns.
  const { dataset: full, split } = cfg.data.sampling === undefined ? built : sampleFitRows(built.dataset, built.split, cfg.data.sampling, seed, ipw);
  const view = built.fitted.withoutPrivileged();
  const fitted = view?.fitted ?? built.fitted;
  const ds = view ? view.projection.dataset(full) : full;
  const sampling = samplingRecord(ds.negativeSampleRate, cfg.data.sampling?.betaPos, cfg.train.correctSampling);
  // Probabilities on the real data's scale: sampled training shifts the odds by a known factor.
  const probs = (z: Float32Array): Float64Array => correctForSampling(probabilities(z), sampling);
  // A task's own correction (taskSampling) replaces the run's: null = none.
  const taskProbs = (z: Float32Array, t: RunTask): Float64Array => correctForSampling(probabilities(z), t.sampling === undefined ? sampling : t.sampling ?? undefined);
  const tasks = runTasks(cfg);
  // The task path: train.tasks given (several tasks, or one on some rows / with its own name).
  const taskPath = cfg.train.tasks !== undefined;
  if (taskPath) {
    handleInconsistentRows(tasks, ds, (r) => rowPlace(cfg, split, r), opts.onBadLine ?? cfg.data.onBadLine, note);
    taskSampling(tasks, ds, split.fit, sampling, cfg.file);
  }
  const fitRows = split.fit.end - split.fit.start;
  if (fitRows === 0) throw new ConfigError([`${cfg.file}: data.split: the fit split is empty (${stats.rows} rows read)`]);
  note(`ctrkit: ${stats.rows} rows (fit ${fitRows}${sampling === undefined ? '' : ` after sampling`}, validation ${split.validation.end - split.validation.start}, ` +
    `test ${split.test.end - split.test.start}), ${ds.numFields} fields, ${ds.numIds} ids` +
    (stats.skippedLines > 0 ? `, ${stats.skippedLines} bad lines skipped` : ''));

  const positional: ModelDims = {
    numIds: ds.numIds, numFields: ds.numFields, denseDim: ds.denseNames?.length ?? 0, numSequences: ds.sequences?.length ?? 0,
  };
  // Multi-task models whose heads are the tasks are built (and re-built from the model file) with their names.
  const headTasks = headsAreTasks(modelConfig.type) ? { tasks: taskHeads(tasks) } : {};
  const search = cfg.train.search && modelConfig.type === 'dcnv2'
    ? startSearch({ search: cfg.train.search, model: modelConfig, dims: positional, seed, dataset: ds, validation: split.validation, fit: split.fit, batchSize: cfg.train.batchSize, optimizer: cfg.train.optimizer, probs, file: cfg.file })
    : null;
  // The model being trained: the configured one, or a search's super-network.
  const student = search ? search.net : createModel(modelConfig, { ...positional, features: fitted.features(), ...headTasks }, cfg.train.initSeed ?? seed);
  // Only a model that reads features by name saves the layout: other model files stay as they were.
  const layout = student.featureLayout;
  const dims: ModelDims = { ...positional, ...(layout && { features: [...layout] }), ...headTasks };
  const teacher = distill && createJointTeacher(distill, built.fitted, full, seed);
  // What the trainer trains: the student, or the student with its joint teacher (on the full rows).
  const trained = teacher ? new JointDistillModel(teacher, student, view?.projection) : student;
  const trainDs = teacher ? full : ds;
  const optimizer = createOptimizer(cfg.train.optimizer, trained);
  const lossCfg = cfg.train.loss;
  const loss = lossCfg ? createLoss(lossCfg) : null;
  const probes = cfg.train.probes ? trainingProbes(student, cfg.train.logEvery) : null;
  const watch = (z: Tensor, b: Batch): Tensor => (probes ? probes.watch(z, b.labels) : z);
  const mainLoss = (m: CTRModel, b: Batch): { z: Tensor; value: Tensor } => {
    // A contrastive loss reads the hidden representation; the config check guarantees the model has one.
    const out = lossCfg !== undefined && needsRepresentation(lossCfg.type) ? m.forwardWithRepresentation!(b) : { logits: m.forward(b), representation: undefined };
    const z = watch(out.logits, b);
    const value = loss ? loss(z, b, { step: optimizer.stepCount, ...(out.representation && { representation: out.representation }) }) : weightedBce(z, b);
    return { z, value };
  };
  const biasTerm = cfg.train.biasConstraints
    && createBiasConstraintTerm(cfg.train.biasConstraints, ds, fitted.spec.fields, split.fit, (j, local) => sliceLabel(fitted.spec.fields[j]!, local));
  // Terms on the logits added to the configured loss (today: the bias constraints).
  const logitTerms = biasTerm ? [biasTerm.term] : [];
  const distillTerms = distill && distillationTerms(distill, teacher, () => optimizer.stepCount);
  const lossFn = (m: CTRModel, b: Batch): Tensor => {
    const { z, value } = mainLoss(m, b);
    const total = logitTerms.reduce((acc, t) => add(acc, t(z, b)), value);
    return distillTerms ? combineLosses([{ loss: total, weight: 1 }, ...distillTerms(z, b)]) : total;
  };
  // List losses compare rows within a list: whole lists per batch when the data has them
  // (data.group), else the batch is the list (the KDD'24 setting on Criteo).
  let batches: BatchSource;
  const groupLists = (lossCfg !== undefined && keepsListsWhole(lossCfg)) || distillListwise(distill);
  if (trainDs.groupOffsets && groupLists) {
    batches = new GroupBatches(trainDs, split.fit, cfg.train.batchSize);
  } else {
    batches = new ShuffledBatches(trainDs, split.fit, cfg.train.batchSize);
  }

  const ramp = modelConfig.type === 'dcnv2' ? modelConfig.crossRamp : undefined;
  const plannedSteps = cfg.train.epochs * Math.ceil(batches.numRows / cfg.train.batchSize);
  if (ramp !== undefined && ramp > plannedSteps) {
    note(`ctrkit: model.crossRamp (${ramp} steps) is longer than training (about ${plannedSteps} steps): the cross terms never reach full weight in training, yet validation and the saved model use the ramp's final value 1`);
  }

  const hasValidation = split.validation.end > split.validation.start;
  // β_pos weights positives in evaluation as in training (SPEC §1); the manifest keeps it for `ctrkit eval`.
  const evalOpts: EvaluationRecord = { positiveWeight: lossCfg?.betaPos ?? 1 };
  const metricName = cfg.train.validationMetric;
  const combine = { metric: metricName, weights: validationWeights(cfg, tasks) };
  // With several tasks, validation also gets the combined metric that picks the epoch.
  const evaluateOn = (m: CTRModel, rows: { start: number; end: number }, validation: boolean): { scores?: TaskScores[]; metrics: Record<string, number | null> } => {
    if (!taskPath) return { metrics: metricsFor(probs(predictRows(m, ds, rows)), ds, rows, evalOpts) };
    const scores = scoreTasks(m, ds, rows, tasks, taskProbs);
    return { scores, metrics: taskMetrics(scores, ds, evalOpts, validation ? combine : undefined) };
  };
  const validate = hasValidation
    ? (): Record<string, number> => {
      // The student (the trainer's module may be the student with its joint teacher).
      // A search's super-network is validated as the controller's current answer.
      search?.useBest();
      const all = evaluateOn(student, split.validation, true).metrics;
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(all)) if (v !== null) out[k] = v;
      if (!(metricName in out)) {
        const undefinedFor = taskPath && tasks.length > 1 ? undefinedTaskMetrics(all, tasks, combine, ds, split.validation) : '';
        throw new ConfigError([`${cfg.file}: train.validationMetric: '${metricName}' has no value on the validation rows${undefinedFor || ` (${JSON.stringify(all)})`}`]);
      }
      return out;
    }
    : undefined;

  if (!resume && existsSync(checkpointDir)) rmSync(checkpointDir, { recursive: true, force: true });
  const logFile = join(output, 'log.jsonl');
  const log = new MetricLog(logFile, { everySteps: cfg.train.logEvery, truncate: !resume });
  const trainer = new Trainer({
    model: trained, optimizer, train: batches, epochs: cfg.train.epochs, seed,
    loss: lossFn,
    ...(taskPath && { tasks: taskTrainerOptions(cfg, tasks, student, seed, () => optimizer.stepCount) }),
    validate,
    validationMetric: { name: metricName, mode: metricName === 'logloss' ? 'min' : 'max' },
    earlyStopping: cfg.train.earlyStopping,
    checkpoints: { store: checkpoints, everySteps: cfg.train.checkpointEvery, location: checkpointDir },
    resume,
    runConfig,
    log,
    progress: createProgress({ quiet: opts.quiet, stream }),
    signal: opts.signal,
    afterStep: probes || search ? (info) => ({ ...probes?.afterStep(info), ...search?.afterStep(info) }) : undefined,
    ...((biasTerm || search) && { auxiliary: { ...(biasTerm && { biasConstraints: biasTerm }), ...(search && { search: search.state }) } }),
  });
  const result = await trainer.run();
  // A search saves and evaluates the chosen candidate, an ordinary model holding the super-network's weights for it.
  const chosen = search?.finish();
  const model = chosen?.model ?? student;
  const savedConfig = chosen?.modelConfig ?? modelConfig;
  const chosenConfig = search && chosen ? search.write(output, cfg, chosen.modelConfig) : undefined;

  const validated = hasValidation ? evaluateOn(model, split.validation, true) : undefined;
  const validation = validated?.metrics ?? {};
  let calibrator: Calibrator | undefined;
  if (cfg.train.calibration !== 'none') {
    if (!hasValidation) throw new ConfigError([`${cfg.file}: train.calibration: needs validation rows to fit on, and the validation split is empty`]);
    // One task (the config check refuses calibration of several): its logits on its rows.
    const v = validated!.scores?.[0];
    const zv = v ? v.logits : predictRows(model, ds, split.validation);
    const yv = v ? rowValues(ds.labels[tasks[0]!.label]!, v.rows) : ds.labels[0]!.subarray(split.validation.start, split.validation.end);
    calibrator = cfg.train.calibration === 'platt' ? PlattCalibrator.fit(zv, yv) : IsotonicCalibrator.fit(zv, yv, { space: 'logit' });
  }
  const hasTest = split.test.end > split.test.start;
  const tested = hasTest ? evaluateOn(model, split.test, false) : undefined;
  const testScores = tested?.scores;
  const zt = testScores ? testScores[0]!.logits : hasTest ? predictRows(model, ds, split.test) : new Float32Array(0);
  const pt = testScores ? testScores[0]!.probs : probs(zt);
  const ptCalibrated = hasTest && calibrator ? calibrator.apply(zt, 'logit') : undefined;
  // A joint teacher is not saved; its test metrics (teacher_<metric>) say how much stronger than the student it was.
  const test = { ...tested?.metrics, ...(teacher && hasTest && teacherMetrics(metricsFor(probs(predictRows(teacher, full, split.test)), full, split.test, evalOpts))) };
  const testCalibrated = ptCalibrated && (testScores
    ? taskMetrics([{ ...testScores[0]!, probs: ptCalibrated }], ds, evalOpts)
    : metricsFor(ptCalibrated, ds, split.test, evalOpts));

  const modelDir = join(output, 'model');
  const sources = dataRowFiles(cfg.data, cfg.baseDir);
  const metrics: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(validation)) metrics[`validation_${k}`] = v;
  for (const [k, v] of Object.entries(test)) metrics[`test_${k}`] = v;
  for (const [k, v] of Object.entries(testCalibrated ?? {})) metrics[`test_calibrated_${k}`] = v;
  // A CSV's header is recorded so that a headerless later slice of the same log can be scored.
  const src = cfg.data.source;
  const columns = src.format === 'csv' && src.header ? await csvFirstRecord(src, sources[0]!) : undefined;
  const kernels = { name: backend().name, threads: backend().getThreads() };
  saveModel(modelDir, {
    model, modelConfig: savedConfig, schema: savedSchema(fitted, cfg, columns), metrics,
    provenance: {
      dataHash: dataHash(sources), seed, createdBy: `ctrkit train ${cfg.file}`, trainRows: fitRows,
      backend: kernels.name, threads: kernels.threads,
    },
    calibration: calibrator ? (calibrator.toJSON() as unknown as JsonValue) : undefined,
    sampling,
    evaluation: evalOpts,
    dims,
    ...(taskPath && { tasks: taskRecords(tasks) }),
    ...(taught && distill && { distillation: distillationRecord(distill, taught.record) as unknown as JsonValue }),
  });
  log.write({ event: 'stop', epoch: result.epochsRun, step: 0, globalStep: result.globalStep, ...Object.fromEntries(Object.entries(metrics).filter(([, v]) => v !== null)) as Record<string, number> });
  const seconds = (performance.now() - t0) / 1000;
  const report = await writeTrainingReport({
    cfg, output, dataset: ds, split, fitted, train: result, seed, seconds, model: modelConfig.type,
    metrics: { validation, test, ...(testCalibrated && { test_calibrated: testCalibrated }) },
    testProbs: pt,
    ...(testScores && tasks.length > 1 && {
      tasks: testScores.map((sc) => ({
        name: sc.task.name, label: sc.task.label, rows: sc.rows, testProbs: sc.probs, positiveWeight: sc.task.loss?.betaPos ?? 1,
        metrics: { validation: taskPart(validation, sc.task.name), test: taskPart(test, sc.task.name) },
      })),
    }),
    ...(testScores && tasks.length === 1 && { label: tasks[0]!.label, rows: testScores[0]!.rows }), ...(ptCalibrated && { testCalibrated: ptCalibrated }),
    ...(biasTerm && hasTest && {
      constraint: { by: biasTerm.by, labels: biasTerm.labels, slices: biasTerm.rowSlices(zt, split.test.start, split.test.end), lambda: Array.from(biasTerm.constraint.lambda) },
    }),
  });
  if (chosenConfig && cfg.train.search?.retrain) {
    const file = join(output, 'chosen.yaml');
    note(`ctrkit: search done; training the chosen architecture from scratch (${file})`);
    const retrained = await runTraining(parseExperimentConfig(chosenConfig, file, cfg.baseDir), { ...opts, seed, output: chosenConfig.output });
    // The run's time includes its search.
    return { ...retrained, seconds: (performance.now() - t0) / 1000 };
  }
  return {
    model, dataset: ds, split, output, modelDir, logFile, checkpointsDir: checkpointDir, tasks, backend: kernels, train: result, validation, test, testCalibrated,
    rows: { fit: fitRows, validation: split.validation.end - split.validation.start, test: split.test.end - split.test.start, skippedLines: stats.skippedLines },
    ...(sampling === undefined ? {} : { sampling }),
    ...(built.cache === undefined ? {} : { cache: built.cache }),
    report,
    seconds,
  };
}

function teacherMetrics(m: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`teacher_${k}`, v]));
}

/** The `<task>.<metric>` entries of a metric record, by metric name. */
function taskPart(metrics: Record<string, number | null>, task: string): Record<string, number | null> {
  const prefix = `${task}.`;
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/** Where dataset row r came from, for messages: its split, its number there (1-based) and, for split files, the file. */
export function rowPlace(cfg: ExperimentConfig, split: DataSplit, r: number): string {
  const sp = cfg.data.split;
  const src = cfg.data.source;
  const fitFile = 'path' in src ? src.path : undefined;
  // With split.fit the validation rows are the source file's tail: number them in that file.
  const files = sp.mode === 'files'
    ? { fit: fitFile, validation: sp.fit === undefined ? sp.validation : fitFile, test: sp.test }
    : { fit: undefined, validation: undefined, test: undefined };
  for (const part of ['fit', 'validation', 'test'] as const) {
    const range = split[part];
    if (r >= range.start && r < range.end) {
      const file = files[part];
      const first = sp.mode === 'files' && sp.fit !== undefined && part === 'validation' ? split.fit.start : range.start;
      return `${file === undefined ? `${cfg.file}: ${part} data` : file}: data row ${r - first + 1}${file === undefined ? '' : ` (${part === 'validation' && first !== range.start ? 'fit' : part} file, header excluded)`}`;
    }
  }
  return `${cfg.file}: data row ${r + 1}`;
}
