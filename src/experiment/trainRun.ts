/**
 * `ctrkit train CONFIG`: builds the dataset from the config's schema, trains the configured
 * model with checkpoints, a JSONL log and a progress bar, picks the best epoch on the
 * validation rows, fits the optional calibration there, evaluates the test rows and writes
 * the model directory (manifest + safetensors) that `predict` and `eval` load.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createOptimizer, type ConfiguredOptimizer } from '../optim/registry.js';
import { Trainer, type TrainResult } from '../train/trainer.js';
import { MetricLog } from '../train/metricLog.js';
import { createProgress } from '../train/progress.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { Dataset } from '../data/dataset.js';
import type { SamplingRecord } from '../io/modelFile.js';
import type { CacheInfo, DataSplit } from '../schema/index.js';
import { parseExperimentConfig, type ExperimentConfig } from './config.js';
import type { RunTask } from './tasks.js';
import { taskTrainerOptions } from './taskTraining.js';
import { startRun, type RunSettings, type TrainRunOptions } from './trainStart.js';
import { loadTrainData, type TrainData } from './trainData.js';
import { buildNetwork, noteLongCrossRamp, type TrainNetwork } from './trainNetwork.js';
import { createObjective, type Objective } from './trainObjective.js';
import { createEvaluation, evaluateTrained, type Evaluation } from './trainEvaluation.js';
import { saveTrainedModel } from './trainSave.js';
import { reportTraining } from './trainRunReport.js';

export type { TrainRunOptions } from './trainStart.js';

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

export async function runTraining(cfg: ExperimentConfig, opts: TrainRunOptions = {}): Promise<TrainRunResult> {
  const t0 = performance.now();
  const stream = opts.stream ?? process.stderr;
  const note = (msg: string): void => {
    if (!opts.quiet) stream.write(`${msg}\n`);
  };
  const run = startRun(cfg, opts);
  const data = await loadTrainData(cfg, run, note);
  const net = buildNetwork(cfg, run, data);
  const optimizer = createOptimizer(cfg.train.optimizer, net.trained);
  const objective = createObjective(cfg, data, net, () => optimizer.stepCount);
  noteLongCrossRamp(run, cfg.train, objective.batches.numRows, note);
  const evaluation = createEvaluation(cfg, data, net);

  const { trainer, log, logFile } = createTrainer(cfg, opts, run, data, net, { optimizer, objective, evaluation });
  const train = await trainer.run();
  // A search saves and evaluates the chosen candidate, an ordinary model holding the super-network's weights for it.
  const chosen = net.search?.finish();
  const model = chosen?.model ?? net.student;
  const chosenConfig = net.search && chosen ? net.search.write(run.output, cfg, chosen.modelConfig) : undefined;

  const final = evaluateTrained(cfg, data, evaluation, model, net.teacher);
  const saved = await saveTrainedModel(cfg, run, data, { model, modelConfig: chosen?.modelConfig ?? run.modelConfig, dims: net.dims }, evaluation, final);
  log.write({ event: 'stop', epoch: train.epochsRun, step: 0, globalStep: train.globalStep, ...Object.fromEntries(Object.entries(saved.metrics).filter(([, v]) => v !== null)) as Record<string, number> });
  const seconds = (performance.now() - t0) / 1000;
  const report = await reportTraining(cfg, run, data, final, { train, modelType: run.modelConfig.type, biasTerm: objective.biasTerm, seconds });
  if (chosenConfig && cfg.train.search?.retrain) {
    const file = join(run.output, 'chosen.yaml');
    note(`ctrkit: search done; training the chosen architecture from scratch (${file})`);
    const retrained = await runTraining(parseExperimentConfig(chosenConfig, file, cfg.baseDir), { ...opts, seed: run.seed, output: chosenConfig.output });
    // The run's time includes its search.
    return { ...retrained, seconds: (performance.now() - t0) / 1000 };
  }
  const { ds, split } = data;
  return {
    model, dataset: ds, split, output: run.output, modelDir: saved.modelDir, logFile, checkpointsDir: run.checkpointDir, tasks: data.tasks, backend: saved.backend,
    train, validation: final.validation, test: final.test, testCalibrated: final.testCalibrated,
    rows: { fit: data.fitRows, validation: split.validation.end - split.validation.start, test: split.test.end - split.test.start, skippedLines: data.built.stats.skippedLines },
    ...(data.sampling === undefined ? {} : { sampling: data.sampling }),
    ...(data.built.cache === undefined ? {} : { cache: data.built.cache }),
    report,
    seconds,
  };
}

/** The trainer over the objective's batches, with a fresh log and checkpoints unless it resumes. */
function createTrainer(cfg: ExperimentConfig, opts: TrainRunOptions, run: RunSettings, data: TrainData, net: TrainNetwork,
  { optimizer, objective, evaluation }: { optimizer: ConfiguredOptimizer; objective: Objective; evaluation: Evaluation }): { trainer: Trainer; log: MetricLog; logFile: string } {
  const { seed, resume, checkpointDir } = run;
  const { probes, biasTerm } = objective;
  const { search } = net;
  const metricName = cfg.train.validationMetric;
  if (!resume && existsSync(checkpointDir)) rmSync(checkpointDir, { recursive: true, force: true });
  const logFile = join(run.output, 'log.jsonl');
  const log = new MetricLog(logFile, { everySteps: cfg.train.logEvery, truncate: !resume });
  const trainer = new Trainer({
    model: net.trained, optimizer, train: objective.batches, epochs: cfg.train.epochs, seed,
    loss: objective.loss,
    ...(data.taskPath && { tasks: taskTrainerOptions(cfg, data.tasks, net.student, seed, () => optimizer.stepCount) }),
    validate: evaluation.validate,
    validationMetric: { name: metricName, mode: metricName === 'logloss' ? 'min' : 'max' },
    earlyStopping: cfg.train.earlyStopping,
    checkpoints: { store: run.checkpoints, everySteps: cfg.train.checkpointEvery, location: checkpointDir },
    resume,
    runConfig: run.runConfig,
    log,
    progress: createProgress({ quiet: opts.quiet, stream: opts.stream ?? process.stderr }),
    signal: opts.signal,
    afterStep: probes || search ? (info) => ({ ...probes?.afterStep(info), ...search?.afterStep(info) }) : undefined,
    ...((biasTerm || search) && { auxiliary: { ...(biasTerm && { biasConstraints: biasTerm }), ...(search && { search: search.state }) } }),
  });
  return { trainer, log, logFile };
}
