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
import { buildDatasetCached, dataSourceFiles, sampleFitRows } from '../schema/index.js';
import { createModel, type ModelConfig } from '../models/registry.js';
import { createOptimizer } from '../optim/registry.js';
import { createLoss } from '../losses/registry.js';
import { Trainer, type TrainResult } from '../train/trainer.js';
import { MetricLog } from '../train/metricLog.js';
import { createProgress } from '../train/progress.js';
import { FileCheckpointStore } from '../io/checkpointStore.js';
import { saveModel, type JsonValue, type SamplingRecord } from '../io/modelFile.js';
import { savedSchema } from './savedSchema.js';
import { dataHash } from '../io/provenance.js';
import { PlattCalibrator } from '../calibrate/platt.js';
import { IsotonicCalibrator } from '../calibrate/isotonic.js';
import type { Calibrator } from '../calibrate/calibrator.js';
import { bceWithLogits } from '../autograd/ops/loss.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { Batch } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { CacheInfo, DataSplit } from '../schema/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ExperimentConfig } from './config.js';
import { metricsFor, probabilities } from './evaluate.js';
import { predictRows } from '../train/predict.js';
import { correctForSampling, samplingRecord } from './samplingCorrection.js';
import { trainingProbes } from './probes.js';

export interface TrainRunOptions {
  /** Continue from the output directory's last checkpoint. */
  resume?: boolean;
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
  seconds: number;
}

/** Lists, queries and requests stay whole when the loss compares rows within them. */
function listwise(type: string | undefined): boolean {
  return type === 'combined-list' || type === 'listmle' || type === 'rcr' || type === 'jrc';
}

/**
 * The model section as trained and saved: a dnn / dcnv2 whose `logits` is unset gets the
 * two-logit head when the loss is JRC, so a loss grid can switch to JRC without a second axis.
 */
function resolveModelConfig(cfg: ExperimentConfig): ModelConfig {
  const m = cfg.model;
  if (cfg.train.loss?.type === 'jrc' && (m.type === 'dnn' || m.type === 'dcnv2') && m.logits === undefined) return { ...m, logits: 2 };
  return m;
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
  if (threads) backend().setThreads(threads);

  const built = await buildDatasetCached(cfg.data, cfg.baseDir, { onBadLine: opts.onBadLine ?? cfg.data.onBadLine, log: note });
  const { fitted, stats } = built;
  if (built.cache !== undefined) note(`ctrkit: dataset ${built.cache.rebuilt ? 'built and cached in' : 'loaded from the cache'} ${built.cache.dir}`);
  const { dataset: ds, split } = cfg.data.sampling === undefined ? built : sampleFitRows(built.dataset, built.split, cfg.data.sampling, seed);
  const sampling = samplingRecord(ds.negativeSampleRate, cfg.data.sampling?.betaPos, cfg.train.correctSampling);
  // Probabilities on the real data's scale: sampled training shifts the odds by a known factor.
  const probs = (z: Float32Array): Float64Array => correctForSampling(probabilities(z), sampling);
  const fitRows = split.fit.end - split.fit.start;
  if (fitRows === 0) throw new Error(`${cfg.file}: the fit split is empty (${stats.rows} rows read)`);
  if (ds.labels.length === 0) throw new Error(`${cfg.file}: data.labels is empty: nothing to train on`);
  note(`ctrkit: ${stats.rows} rows (fit ${fitRows}${sampling === undefined ? '' : ` after sampling`}, validation ${split.validation.end - split.validation.start}, ` +
    `test ${split.test.end - split.test.start}), ${ds.numFields} fields, ${ds.numIds} ids` +
    (stats.skippedLines > 0 ? `, ${stats.skippedLines} bad lines skipped` : ''));

  const dims = { numIds: ds.numIds, numFields: ds.numFields, denseDim: ds.denseNames?.length ?? 0, numSequences: ds.sequences?.length ?? 0 };
  const modelConfig = resolveModelConfig(cfg);
  const model = createModel(modelConfig, dims, seed);
  const optimizer = createOptimizer(cfg.train.optimizer, model);
  const lossCfg = cfg.train.loss;
  const twoLogits = model.logitsPerRow === 2;
  // [N, 2] logits mean nothing to the one-logit losses, and JRC needs both: refuse a mismatch
  // here rather than with a shape error at the first step.
  if (lossCfg?.type === 'jrc' && !twoLogits) {
    throw new Error(`${cfg.file}: train.loss: 'jrc' needs a two-logit model head (model.logits: 2, dnn or dcnv2), which model type '${cfg.model.type}' with logits ${model.logitsPerRow} does not have`);
  }
  if (twoLogits && lossCfg?.type !== 'jrc') {
    throw new Error(`${cfg.file}: model.logits: 2 is the JRC head; train it with train.loss: { type: jrc }`);
  }
  const loss = lossCfg ? createLoss(lossCfg) : null;
  const probes = cfg.train.probes ? trainingProbes(model, cfg.train.logEvery) : null;
  const logits = (m: CTRModel, b: Batch): Tensor => (probes ? probes.watch(m.forward(b), b.labels) : m.forward(b));
  const lossFn = loss
    ? (m: CTRModel, b: Batch): Tensor => loss(logits(m, b), b, { step: optimizer.stepCount })
    : (m: CTRModel, b: Batch): Tensor => bceWithLogits(logits(m, b), b.labels, b.weights ?? null);
  // List losses compare rows within a list: whole lists per batch when the data has them
  // (data.group), else the batch is the list (the KDD'24 setting on Criteo).
  let batches: BatchSource;
  if (lossCfg?.type === 'combined-pair' && lossCfg.pairs === 'group' && !ds.groupOffsets) {
    throw new Error(`${cfg.file}: train.loss: pairs 'group' compares rows within lists: set data.group`);
  }
  if (ds.groupOffsets && (listwise(lossCfg?.type) || (lossCfg?.type === 'combined-pair' && lossCfg.pairs === 'group'))) {
    batches = new GroupBatches(ds, split.fit, cfg.train.batchSize);
  } else {
    batches = new ShuffledBatches(ds, split.fit, cfg.train.batchSize);
  }

  const ramp = modelConfig.type === 'dcnv2' ? modelConfig.crossRamp : undefined;
  const plannedSteps = cfg.train.epochs * Math.ceil(batches.numRows / cfg.train.batchSize);
  if (ramp !== undefined && ramp > plannedSteps) {
    note(`ctrkit: model.crossRamp (${ramp} steps) is longer than training (about ${plannedSteps} steps): the cross terms never reach full weight in training, yet validation and the saved model use the ramp's final value 1`);
  }

  const hasValidation = split.validation.end > split.validation.start;
  // β_pos weights positives in evaluation as in training (SPEC §1).
  const evalOpts = { positiveWeight: lossCfg?.betaPos };
  const metricName = cfg.train.validationMetric;
  const validate = hasValidation
    ? (m: CTRModel): Record<string, number> => {
      const all = metricsFor(probs(predictRows(m, ds, split.validation)), ds, split.validation, evalOpts);
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(all)) if (v !== null) out[k] = v;
      if (!(metricName in out)) throw new Error(`validation metric '${metricName}' has no value on the validation rows (${JSON.stringify(all)})`);
      return out;
    }
    : undefined;

  if (!opts.resume && existsSync(join(output, 'checkpoints'))) rmSync(join(output, 'checkpoints'), { recursive: true, force: true });
  const log = new MetricLog(join(output, 'log.jsonl'), { everySteps: cfg.train.logEvery, truncate: !opts.resume });
  const trainer = new Trainer({
    model, optimizer, train: batches, epochs: cfg.train.epochs, seed,
    loss: lossFn,
    validate,
    validationMetric: { name: metricName, mode: metricName === 'logloss' ? 'min' : 'max' },
    earlyStopping: cfg.train.earlyStopping,
    checkpoints: { store: new FileCheckpointStore(join(output, 'checkpoints')), everySteps: cfg.train.checkpointEvery, location: join(output, 'checkpoints') },
    resume: opts.resume,
    log,
    progress: createProgress({ quiet: opts.quiet, stream }),
    signal: opts.signal,
    afterStep: probes ? (info) => probes.afterStep(info) : undefined,
  });
  const result = await trainer.run();

  const validation = hasValidation ? metricsFor(probs(predictRows(model, ds, split.validation)), ds, split.validation, evalOpts) : {};
  let calibrator: Calibrator | undefined;
  if (cfg.train.calibration !== 'none') {
    if (!hasValidation) throw new Error(`${cfg.file}: train.calibration needs validation rows to fit on`);
    const zv = predictRows(model, ds, split.validation);
    const yv = ds.labels[0]!.subarray(split.validation.start, split.validation.end);
    calibrator = cfg.train.calibration === 'platt' ? PlattCalibrator.fit(zv, yv) : IsotonicCalibrator.fit(zv, yv, { space: 'logit' });
  }
  const hasTest = split.test.end > split.test.start;
  const zt = hasTest ? predictRows(model, ds, split.test) : new Float32Array(0);
  const test = hasTest ? metricsFor(probs(zt), ds, split.test, evalOpts) : {};
  const testCalibrated = hasTest && calibrator ? metricsFor(calibrator.apply(zt, 'logit'), ds, split.test, evalOpts) : undefined;

  const modelDir = join(output, 'model');
  // The data files proper (an iPinYou featindex names fields, it is not data).
  const featIndex = cfg.data.source.format === 'ipinyou' ? resolve(cfg.baseDir, cfg.data.source.featIndex) : undefined;
  const sources = dataSourceFiles(cfg.data, cfg.baseDir).filter((p) => p !== featIndex);
  const metrics: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(validation)) metrics[`validation_${k}`] = v;
  for (const [k, v] of Object.entries(test)) metrics[`test_${k}`] = v;
  for (const [k, v] of Object.entries(testCalibrated ?? {})) metrics[`test_calibrated_${k}`] = v;
  saveModel(modelDir, {
    model, modelConfig, schema: savedSchema(fitted, cfg), metrics,
    provenance: { dataHash: dataHash(sources), seed, createdBy: `ctrkit train ${cfg.file}`, trainRows: fitRows },
    calibration: calibrator ? (calibrator.toJSON() as unknown as JsonValue) : undefined,
    sampling,
    dims,
  });
  log.write({ event: 'stop', epoch: result.epochsRun, step: 0, globalStep: result.globalStep, ...Object.fromEntries(Object.entries(metrics).filter(([, v]) => v !== null)) as Record<string, number> });
  return {
    model, dataset: ds, split, output, modelDir, train: result, validation, test, testCalibrated,
    rows: { fit: fitRows, validation: split.validation.end - split.validation.start, test: split.test.end - split.test.start, skippedLines: stats.skippedLines },
    ...(sampling === undefined ? {} : { sampling }),
    ...(built.cache === undefined ? {} : { cache: built.cache }),
    seconds: (performance.now() - t0) / 1000,
  };
}
