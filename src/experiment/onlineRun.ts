/**
 * `ctrkit train` with `train.online`: one pass over a time-ordered stream (a file in file order,
 * standard input, or a NATS JetStream stream). Each batch is first scored by the current model — progressive validation, the
 * evaluation of online learning (SPEC §6) — then trained on. Memory does not grow with the stream:
 * rows are read and encoded a batch at a time, categorical fields are hashed or grow a bounded
 * vocabulary (src/schema/stream.ts, src/schema/growingVocab.ts) and the metrics keep fixed-size state (src/metrics/progressive.ts).
 *
 * Progress is printed as Vowpal Wabbit does, at doubling example counts (average and since-last
 * loss), with progressive and sliding-window AUC and mean p vs mean y; the same figures go to the
 * JSONL log as `progress` records. Checkpoints hold the stream position (the input line of the last
 * row trained on, or its JetStream message's sequence, and its line there when lines of the message
 * follow) with the model, optimiser and metric state: a resumed run skips exactly the rows
 * trained before the checkpoint, so after a kill at any moment no event is lost or trained twice,
 * and the final model is bit-identical to an uninterrupted run's. The model directory is the
 * offline one, so `predict`, `eval`, `serve` and `export` read it unchanged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { backend } from '../backend/index.js';
import { wholeBatch } from '../data/batching.js';
import { STDIN } from '../data/readers/textFile.js';
import { canReadAhead, ConfigError, csvFirstRecord, GrowingVocabularies, openRowStream, openRowStreamAhead, resolveReadAhead, sourcePath, streamSchema, type GrowingVocabStats } from '../schema/index.js';
import { createModel, type ModelDims } from '../models/registry.js';
import { createOptimizer } from '../optim/registry.js';
import { createLoss } from '../losses/registry.js';
import { weightedBce } from '../losses/weightedBce.js';
import { NonFiniteLossError, trainStep } from '../train/step.js';
import { resetTableRows } from '../train/rowReset.js';
import { NonFiniteTrainingError } from '../train/trainer.js';
import { MetricLog, parseMetricLog, type MetricValue } from '../train/metricLog.js';
import { predictRows } from '../train/predict.js';
import { servingLogit } from '../models/servingLogit.js';
import type { TrainerState } from '../train/checkpoint.js';
import type { Batch } from '../data/batch.js';
import type { Tensor } from '../tensor/tensor.js';
import { sampleStreamRows, type StreamSampling } from '../data/sampling/index.js';
import { FileCheckpointStore } from '../io/checkpointStore.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { saveModel } from '../io/modelFile.js';
import { dataHash } from '../io/provenance.js';
import { buildRunReport, readRunLog, writeRunReport, type ReportSection, type RunReport } from '../report/runReport.js';
import { ProgressiveValidation, type ProgressiveReport, type ProgressiveState } from '../metrics/progressive.js';
import type { ExperimentConfig } from './config.js';
import type { OnlineConfig } from './onlineConfig.js';
import { probabilities } from './evaluate.js';
import { add } from '../autograd/ops/elementwise.js';
import { createBiasConstraintTerm, type BiasConstraintTerm } from './biasConstraintTerm.js';
import { correctForSampling, samplingRecord } from './samplingCorrection.js';
import { checkResumeConfig } from './resumeGuard.js';
import { POSITION_LABEL, positionKeep, streamBatchKeep, streamLossKeep, withPositionLabel } from './samplingKeep.js';
import { withoutLabel } from '../schema/hiddenLabel.js';
import { savedSchema } from './savedSchema.js';
import { threadCpuSeconds } from '../util/threadCpu.js';
import type { TrainRunOptions } from './trainRun.js';

export interface OnlineRunResult {
  output: string;
  modelDir: string;
  logFile: string;
  checkpointsDir: string;
  backend: { name: 'native' | 'reference'; threads: number };
  /** The input read ('-' = standard input). */
  input: string;
  /** Rows scored (this run and the runs it resumed), batches (= optimiser steps). */
  rows: number;
  /** Rows trained on: all rows scored, less the negatives data.sampling dropped. */
  trainedRows: number;
  batches: number;
  /** Bad lines skipped by this run under onBadLine: skip. */
  skippedLines: number;
  /** Input line of the last row trained on (JetStream: its message's sequence): where a resume continues. */
  position: number;
  positionKind: 'line' | 'sequence';
  /** JetStream: the lines of message `position` trained on when more of its lines follow, else 0 (the whole message). */
  positionLines: number;
  /** The position this run resumed after (0: it started at the beginning). */
  resumedAfter: number;
  interrupted: boolean;
  /** How the stream was read: on a worker thread ahead of training, or on the training thread (train.online.readAhead resolved). */
  reading: 'ahead' | 'in-thread';
  /** The progressive metrics over the whole stream so far. */
  progressive: ProgressiveReport;
  /** <output>/report.html: the progressive curves over the rows scored, the final metrics, slice bias (data: report.json). */
  report: string;
  /** Rows per second of this run's stream loop (read, encode, score, train, periodic checkpoints; not setup or the final save). */
  rowsPerSecond: number;
  /** CPU time of the process over the stream loop (every thread: the read-ahead worker's included), a load-independent cost. */
  loopCpuSeconds: number;
  /** CPU time of the training thread alone over the loop (undefined off Linux): the loop's length when the read-ahead worker has a core of its own. */
  loopThreadCpuSeconds?: number;
  /** The whole run, setup and saving included. */
  seconds: number;
  /** With train.online.vocab: the growing vocabularies' occupancy and traffic at the end. */
  vocab?: GrowingVocabStats;
}

/** What a checkpoint holds besides model and optimiser (TrainerState.auxiliary.online). */
interface OnlinePosition {
  /** Input line, or JetStream sequence, of the last row trained on. */
  position: number;
  /** JetStream: the lines of message `position` trained on, when lines of it follow (absent: the whole message, as in checkpoints of one-record streams). */
  positionLines?: number;
  rows: number;
  /** Rows trained on (absent in checkpoints of runs without sampling: then = rows). */
  trainedRows?: number;
  nextPrint: number;
  progressive: ProgressiveState;
}

/** Where the stream comes from: train.online.input, else the data source's file (not for JetStream). */
function inputPath(cfg: ExperimentConfig, online: OnlineConfig): string {
  if (online.jetstream !== undefined) return `nats:${online.jetstream.stream}`;
  const p = online.input ?? sourcePath(cfg.data.source);
  if (p === undefined) throw new ConfigError([`${cfg.file}: train.online.input: give the stream (a file, or '-' for standard input)`]);
  if (p === STDIN) return p;
  const file = resolve(cfg.baseDir, p);
  if (!existsSync(file)) throw new ConfigError([`${cfg.file}: ${online.input === undefined ? 'data.source.path' : 'train.online.input'}: ${file} does not exist`]);
  return file;
}

/** The smallest power of two above `rows`: Vowpal Wabbit's doubling print schedule. */
function nextPowerOfTwo(rows: number): number {
  let n = 1;
  while (n <= rows) n *= 2;
  return n;
}

const fmt = (v: number | null, digits: number, width: number): string => (v === null ? 'n/a' : v.toFixed(digits)).padStart(width);

export const PROGRESS_HEADER = 'average  since         example   window  progr.   mean p   mean y\n   loss   last         counter      auc     auc\n';

/** One Vowpal Wabbit-style line: average loss, since-last loss, rows, window and cumulative AUC, mean p, mean y. */
export function progressLine(r: ProgressiveReport): string {
  return `${fmt(r.logloss, 6, 7)} ${fmt(r.sinceLast.logloss, 6, 8)} ${String(r.rows).padStart(15)} ${fmt(r.window.auc, 4, 8)} ${fmt(r.auc, 4, 7)} ${fmt(r.meanP, 4, 8)} ${fmt(r.meanY, 4, 8)}\n`;
}

/** A report as the flat record of the JSONL log (per-slice bias as `slice_bias:<value>`, Σp/Σy − 1). */
function progressRecord(r: ProgressiveReport, position: number): Record<string, MetricValue> {
  const out: Record<string, MetricValue> = {
    rows: r.rows, position, logloss: r.logloss, since_last_logloss: r.sinceLast.logloss, since_last_rows: r.sinceLast.rows,
    auc: r.auc, auc_max_error: r.aucMaxError, mean_p: r.meanP, mean_y: r.meanY, ece: r.ece,
    window_rows: r.window.rows, window_auc: r.window.auc, window_logloss: r.window.logloss,
    window_mean_p: r.window.meanP, window_mean_y: r.window.meanY, window_ece: r.window.ece,
  };
  for (const s of r.slices) out[`slice_bias:${s.slice}`] = s.ratioBias;
  return out;
}

/** The growing vocabularies' occupancy and traffic as log fields. */
function vocabRecord(vocabs: GrowingVocabularies | undefined): Record<string, MetricValue> {
  if (vocabs === undefined) return {};
  const v = vocabs.stats();
  return { vocab_occupancy: v.occupancy, vocab_admitted: v.admitted, vocab_evictions: v.evictions, vocab_candidates: v.candidates, vocab_forgotten: v.forgotten, vocab_deferred: v.deferred, vocab_oov_share: v.oovShare };
}

/**
 * A killed run may have logged past its last checkpoint; the resumed run logs those steps again,
 * so the log is cut back to the checkpoint first (each step then appears once).
 */
function truncateLog(file: string, globalStep: number): void {
  if (!existsSync(file)) return;
  const keep = parseMetricLog(readFileSync(file, 'utf8')).filter((r) => r.globalStep <= globalStep && !(r.event === 'stop'));
  writeFileAtomic(file, keep.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** report.html / report.json of an online run: its log's progressive curves, the final metrics and slice bias. */
async function writeOnlineReport(cfg: ExperimentConfig, output: string, r: ProgressiveReport, run: RunReport['run']): Promise<string> {
  const rows: [string, number | null, number | null][] = [
    ['logloss', r.logloss, r.window.logloss], ['auc', r.auc, r.window.auc], ['ece', r.ece, r.window.ece],
    ['mean_p', r.meanP, r.window.meanP], ['mean_y', r.meanY, r.window.meanY], ['rows', r.rows, r.window.rows],
  ];
  const sections: ReportSection[] = [{
    kind: 'metrics', source: 'evaluation', title: 'Progressive validation', columns: ['whole stream', 'sliding window'],
    rows: rows.map(([metric, a, b]) => ({ metric, values: [a, b] })),
    note: `Each row scored before it was trained on. The whole-stream AUC is within ${r.aucMaxError === null ? 'n/a' : r.aucMaxError.toPrecision(2)} of the exact one (histogram); the window's is exact.`,
  }];
  const field = cfg.train.online?.sliceField;
  if (field !== undefined && r.slices.length > 0) {
    sections.push({ kind: 'sliceBias', source: 'evaluation', title: `Calibration bias by ${field} (whole stream)`, by: field, slices: r.slices.map((s) => ({ ...s, slice: String(s.slice) })) });
  }
  const label = cfg.data.labels[0]?.name ?? 'label';
  return writeRunReport(output, buildRunReport({ title: `Online training run: ${cfg.file}`, run, metrics: { validation: {}, test: {} }, tasks: [{ name: label, sections }] }, readRunLog(output)));
}

export async function runOnlineTraining(cfg: ExperimentConfig, opts: TrainRunOptions = {}): Promise<OnlineRunResult> {
  const t0 = performance.now();
  const online = cfg.train.online;
  if (online === undefined) throw new Error('runOnlineTraining: the config has no train.online');
  const stream = opts.stream ?? process.stderr;
  const print = (msg: string): void => {
    if (!opts.quiet) stream.write(msg);
  };
  const output = resolve(cfg.baseDir, opts.output ?? cfg.output);
  const seed = opts.seed ?? cfg.train.seed;
  const threads = opts.threads ?? cfg.train.threads;
  const onBadLine = opts.onBadLine ?? cfg.data.onBadLine;
  const resume = opts.resume === true || opts.forceResume === true;
  const runConfig = { data: { ...cfg.data, onBadLine }, model: cfg.model, train: { ...cfg.train, seed, threads } };
  const checkpointDir = join(output, 'checkpoints');
  const checkpoints = new FileCheckpointStore(checkpointDir);
  const saved = resume ? checkpoints.load('last') : null;
  if (saved && !opts.forceResume) checkResumeConfig(saved.config, runConfig, saved.trainer, checkpoints.path('last'));
  if (threads) backend().setThreads(threads);
  // The rows as read (with the hidden position label of position-based sampling) and as the model records them.
  const readSchema = streamSchema(withPositionLabel(cfg.data), online.hashBuckets, cfg.file, 'train.online.hashBuckets', online.vocab);
  const fitted = withoutLabel(readSchema, POSITION_LABEL);
  const vocabs = online.vocab && new GrowingVocabularies(fitted, online.vocab.candidates ?? online.vocab.capacity);
  const input = inputPath(cfg, online);
  // train.online.readAhead ('auto': by the cores the process may use); standard input and growing
  // vocabularies are read in-thread whatever it says. Logged and reported: it sets the speed, not the result.
  const cores = opts.cores ?? availableParallelism();
  const readAhead = resolveReadAhead(online.readAhead, online.jetstream === undefined ? 'file' : 'jetstream', cores) && canReadAhead(input, { batchSize: cfg.train.batchSize, ...(vocabs && { vocabularies: vocabs }) });
  const reading: OnlineRunResult['reading'] = readAhead ? 'ahead' : 'in-thread';
  ensureDir(output);
  const positional: ModelDims = {
    numIds: fitted.numIds, numFields: fitted.spec.fields.length, denseDim: fitted.spec.dense.length, numSequences: fitted.spec.sequences.length,
  };
  const model = createModel(cfg.model, { ...positional, features: fitted.features() }, cfg.train.initSeed ?? seed);
  const layout = model.featureLayout;
  const dims: ModelDims = layout ? { ...positional, features: [...layout] } : positional;
  const optimizer = createOptimizer(cfg.train.optimizer, model);
  const loss = cfg.train.loss ? createLoss(cfg.train.loss) : null;
  // train.biasConstraints (slices: pCTR buckets of each batch, so no rows are needed to build it); its λ are checkpointed.
  const biasTerm: BiasConstraintTerm | undefined = cfg.train.biasConstraints
    && createBiasConstraintTerm(cfg.train.biasConstraints, undefined, fitted.spec.fields, { start: 0, end: 0 }, () => '');

  let pv = new ProgressiveValidation({ window: online.window });
  let position = 0;
  let positionLines = 0;
  let rows = 0;
  let trainedRows = 0;
  let nextPrint = 1;
  let globalStep = 0;
  if (saved) {
    vocabs?.load(saved.trainer.auxiliary?.vocab, checkpoints.path('last'));
    model.loadStateDict(saved.model);
    optimizer.loadState(saved.optimizer);
    const pos = saved.trainer.auxiliary?.online as OnlinePosition | undefined;
    if (pos === undefined) throw new ConfigError([`${checkpoints.path('last')}: the checkpoint holds no stream position (it was written by epoch training): start afresh without --resume`]);
    ({ position, rows, nextPrint } = pos);
    positionLines = pos.positionLines ?? 0;
    trainedRows = pos.trainedRows ?? rows;
    pv = ProgressiveValidation.fromJSON(pos.progressive);
    globalStep = saved.trainer.globalStep;
    const lambda = saved.trainer.auxiliary?.biasConstraints;
    if (biasTerm && lambda !== undefined) biasTerm.load(lambda);
  }
  const resumedAfter = position;
  const logFile = join(output, 'log.jsonl');
  if (saved) truncateLog(logFile, globalStep);
  const log = new MetricLog(logFile, { everySteps: cfg.train.logEvery, truncate: !saved });
  log.write({ event: 'start', epoch: 1, step: globalStep, globalStep, resumed: saved !== null, position, seed, reading, read_ahead: String(online.readAhead), cores });

  const save = (): void => {
    const trainer: TrainerState = {
      epoch: 0, stepInEpoch: globalStep, globalStep, epochRngState: [], best: null, epochsWithoutImprovement: 0, history: [],
      auxiliary: { online: { position, ...(positionLines > 0 && { positionLines }), rows, trainedRows, nextPrint, progressive: pv.toJSON() } satisfies OnlinePosition, ...(biasTerm && { biasConstraints: biasTerm.save() }), ...(vocabs && { vocab: vocabs.toJSON() }) },
    };
    checkpoints.save('last', { model: model.stateDict(), optimizer: optimizer.saveState(), trainer, config: runConfig });
  };

  const sliceField = online.sliceField === undefined ? undefined : fitted.spec.fields.findIndex((f) => f.name === online.sliceField);
  // A file is read again from its start and the rows up to the position skipped; JetStream starts at
  // the next sequence, or inside the same message past the lines trained on. Its batches carry their
  // rows' sequences and lines in their messages, and a malformed record is named by its message's
  // sequence (src/schema/streamMessages.ts).
  const jet = online.jetstream && {
    servers: typeof online.jetstream.servers === 'string' ? online.jetstream.servers.split(',') : online.jetstream.servers,
    stream: online.jetstream.stream, startSequence: positionLines > 0 ? position : position + 1, startAfterLines: positionLines,
    ...(online.jetstream.subject === undefined ? {} : { subject: online.jetstream.subject }),
    ...(online.jetstream.idleSeconds === undefined ? {} : { idleMs: online.jetstream.idleSeconds * 1000 }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  };
  const rowStream = await (readAhead ? openRowStreamAhead : openRowStream)(readSchema, cfg.data.source, input, cfg.baseDir, {
    batchSize: cfg.train.batchSize, after: jet ? 0 : position, onBadLine,
    ...(jet ? { jetstream: jet } : {}),
    ...(online.chunkSize === undefined ? {} : { chunkSize: online.chunkSize }),
    ...(sliceField === undefined ? {} : { sliceField }),
    ...(vocabs === undefined ? {} : { vocabularies: vocabs }),
  });
  const modelDir = join(output, 'model');
  const src = cfg.data.source;
  // A CSV's header is recorded so that a headerless later slice can be scored (standard input cannot be read twice).
  const columns = src.format === 'csv' && src.header && input !== STDIN && !jet ? await csvFirstRecord(src, input) : undefined;
  const kernels = { name: backend().name, threads: backend().getThreads() };
  /** Writes the model directory (atomically) with the metrics of `r`. */
  const publish = (r: ProgressiveReport, data: string): void => {
    const metrics: Record<string, number | null> = {
      progressive_auc: r.auc, progressive_logloss: r.logloss, progressive_ece: r.ece, progressive_mean_p: r.meanP, progressive_mean_y: r.meanY,
      window_auc: r.window.auc, window_logloss: r.window.logloss,
    };
    saveModel(modelDir, {
      model, modelConfig: cfg.model, schema: savedSchema(vocabs ? vocabs.snapshot() : fitted, cfg, columns), metrics,
      provenance: { dataHash: data, seed, createdBy: `ctrkit train ${cfg.file} (online)`, trainRows: rows, backend: kernels.name, threads: kernels.threads },
      evaluation: { positiveWeight: cfg.train.loss?.betaPos ?? 1 },
      dims, ...(sampling === undefined ? {} : { sampling }),
    });
  };
  const publishEvery = online.publishEvery ?? 0;
  // data.sampling thins the rows trained on only: every row is scored first, so the progressive
  // metrics are those of the unsampled stream, with the predictions corrected as a served model's are.
  const s = cfg.data.sampling;
  const pk = positionKeep(s);
  const lossByLine = s?.loss === undefined ? undefined : await streamLossKeep(cfg, input, onBadLine, join(output, 'sampling-teacher'), print);
  const sampler: StreamSampling | undefined = s === undefined || ((s.negativeRate ?? 1) === 1 && (s.betaPos ?? 1) === 1 && lossByLine === undefined && pk === undefined) ? undefined
    : { negativeRate: s.negativeRate ?? 1, betaPos: s.betaPos ?? 1, seed: s.seed ?? seed, inverseWeights: online.inverseWeights };
  const sampling = samplingRecord(online.inverseWeights ? 1 : s?.negativeRate, s?.betaPos, cfg.train.correctSampling);
  // A model whose training forward scores a batch as evaluation does (Module.scoresAsInEval) is
  // scored by that forward when every scored row is trained on: one forward pass per batch, not two.
  const oneForward = model.scoresAsInEval();
  // Set for a batch that the step scores: its forward's logits are kept (copied out of the arena).
  let keepLogits = false;
  let trainLogits: Float32Array | null = null;
  const lossFn = (b: Batch): Tensor => {
    const z = model.forward(b);
    if (keepLogits) trainLogits = servingLogit(z).data.slice();
    const value = loss ? loss(z, b, { step: optimizer.stepCount }) : weightedBce(z, b);
    return biasTerm ? add(value, biasTerm.term(z, b)) : value;
  };
  const every = cfg.train.checkpointEvery ?? 0;
  const rowsAtStart = rows;
  let interrupted = false;
  let last: ProgressiveReport | undefined;
  print(PROGRESS_HEADER);
  const loopStart = performance.now();
  const loopCpu = process.cpuUsage();
  const loopThreadCpu = threadCpuSeconds();
  for await (const batch of rowStream) {
    const { dataset: ds, ipw } = streamBatchKeep(batch.dataset, batch.lines, lossByLine, pk, input);
    const n = ds.numRows;
    // Rows this batch's encoding handed to new ids start afresh before anything reads them.
    if (vocabs) {
      const fresh = vocabs.takeAdmitted(seed);
      resetTableRows(model, optimizer, fresh.rows, fresh.seeds);
    }
    // Scored by the model as it stands (eval mode: no dropout, ramps at their final value), before it sees the labels.
    const b = wholeBatch(ds);
    // Where each row is in the stream: its message's sequence (and line there), or its input line.
    const positions = batch.messageSequences ?? batch.lines;
    // A message's first line draws as its sequence alone; its later lines draw apart from it.
    const trainDs = sampler ? sampleStreamRows(ds, positions, sampler, ipw, batch.messageLines?.map((k) => k - 1)) : ds;
    const k = trainDs.numRows;
    const scoredByStep = oneForward && trainDs === ds && k > 0;
    keepLogits = scoredByStep;
    const score = (z: Float32Array): void => {
      pv.predict(correctForSampling(probabilities(z), sampling));
      pv.label(b.labels, b.weights, batch.slices);
    };
    if (!scoredByStep) score(predictRows(model, ds, { start: 0, end: n }));
    const tb = trainDs === ds ? b : wholeBatch(trainDs);
    model.train();
    model.onTrainingStep(globalStep);
    let value: number | undefined;
    try {
      // A batch whose rows were all sampled away is scored but takes no step.
      if (k > 0) value = trainStep(optimizer, () => lossFn(tb));
    } catch (e) {
      if (!(e instanceof NonFiniteLossError)) throw e;
      const rowsAt = `${jet ? 'messages' : 'input lines'} ${positions[0]}–${positions[n - 1]}`;
      throw new NonFiniteTrainingError(`training stopped: loss is ${e.loss} at global step ${globalStep + 1} (${rowsAt} of ${input}); the last checkpoint is kept in ${checkpointDir}`,
        1, globalStep + 1, globalStep + 1, null, e);
    }
    // The step's forward ran on the weights before its update: the same scores as above.
    if (scoredByStep) score(trainLogits!);
    const stepped = k > 0;
    if (stepped) globalStep++;
    rows += n;
    trainedRows += k;
    position = positions[n - 1]!;
    positionLines = batch.openMessageLines ?? 0;
    if (stepped) log.write({ event: 'step', epoch: 1, step: globalStep, globalStep, loss: value ?? null, rows: n, ...(sampler ? { trained_rows: k } : {}) });
    if (rows >= nextPrint) {
      last = pv.report();
      print(progressLine(last));
      log.write({ event: 'progress', epoch: 1, step: globalStep, globalStep, ...progressRecord(last, position), ...biasTerm?.epochRecord?.(), ...vocabRecord(vocabs) });
      nextPrint = nextPowerOfTwo(rows);
    }
    if (stepped && every > 0 && globalStep % every === 0) save();
    // Mid-stream the data is not complete, so the provenance names the stream and how far it got.
    if (stepped && publishEvery > 0 && globalStep % publishEvery === 0) publish(pv.snapshot(), `${input} through ${jet ? 'sequence' : 'line'} ${position}${positionLines > 0 ? ` line ${positionLines}` : ''}`);
    // Lets a SIGINT (and the reads of a pipe) through between batches.
    await nextTick();
    if (opts.signal?.aborted) {
      interrupted = true;
      break;
    }
  }
  const loopSeconds = (performance.now() - loopStart) / 1000;
  const cpu = process.cpuUsage(loopCpu);
  const threadCpu = threadCpuSeconds();
  // The end of the stream (or Ctrl-C): a final line when the last one is not current, and a checkpoint to continue from.
  if (last === undefined || last.rows !== rows) {
    last = pv.report();
    print(progressLine(last));
    log.write({ event: 'progress', epoch: 1, step: globalStep, globalStep, ...progressRecord(last, position), ...biasTerm?.epochRecord?.(), ...vocabRecord(vocabs) });
  }
  save();

  // A pipe or a message stream cannot be read again to hash: the provenance names it instead.
  publish(last, input === STDIN ? 'stdin' : jet ? input : dataHash([input]));
  const seconds = (performance.now() - t0) / 1000;
  const rowsPerSecond = loopSeconds > 0 ? (rows - rowsAtStart) / loopSeconds : 0;
  log.write({ event: 'stop', epoch: 1, step: globalStep, globalStep, interrupted, rows_per_s: rowsPerSecond, ...progressRecord(last, position) });
  const report = await writeOnlineReport(cfg, output, last, {
    config: cfg.file, output, input, model: cfg.model.type, loss: cfg.train.loss?.type ?? 'bce', seed, rows, ...(sampler ? { trained_rows: trainedRows } : {}), batches: globalStep,
    [jet ? 'sequence' : 'line']: position, ...(positionLines > 0 && { sequence_lines: positionLines }), resumed_after: resumedAfter, interrupted, reading, rows_per_s: Math.round(rowsPerSecond), seconds: Math.round(seconds * 100) / 100,
  });
  return {
    output, modelDir, logFile, checkpointsDir: checkpointDir, backend: kernels, input, rows, trainedRows, batches: globalStep,
    report, skippedLines: rowStream.stats.skipped, position, positionKind: jet ? 'sequence' : 'line', positionLines, resumedAfter, interrupted, reading, progressive: last, rowsPerSecond, loopCpuSeconds: (cpu.user + cpu.system) / 1e6, seconds,
    ...(vocabs && { vocab: vocabs.stats() }),
    ...(threadCpu !== undefined && loopThreadCpu !== undefined && { loopThreadCpuSeconds: threadCpu - loopThreadCpu }),
  };
}
