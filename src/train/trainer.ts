/**
 * The training loop: epochs over a BatchSource in a seeded order, validation through a
 * callback (the trainer knows no metric), early stopping, best-epoch selection, atomic
 * checkpoints and exact resume, a non-finite guard, progress and a metric log.
 *
 * Determinism: the only randomness the trainer owns is one Rng(seed) that draws each epoch's
 * order. Its state at the start of the current epoch is checkpointed, so a resumed run replays
 * that order and skips the batches already trained: N steps straight and k steps + resume +
 * N−k steps give bit-identical models. Before each step the model is told the global step
 * (Module.onTrainingStep), so a schedule inside it (DCN-v2's cross ramp) follows this
 * checkpointed state rather than a counter of its own that a resume would reset.
 */
import type { Batch } from '../data/batch.js';
import type { BatchSource } from '../data/batching.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { GroupOptions, Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { bceWithLogits } from '../autograd/ops/loss.js';
import { NonFiniteLossError, trainStep, trainTaskStep, withRegularizer } from './step.js';
import type { MultiTaskMethod } from './multitask/method.js';
import type { Checkpoint, CheckpointStore, CheckpointTag, TrainerState } from './checkpoint.js';
import type { MetricRecord, MetricSink, MetricValue } from './metricLog.js';
import { SilentProgress, type ProgressReporter } from './progress.js';

export interface ValidationMetric {
  name: string;
  mode: 'max' | 'min';
}

export interface TrainerOptions<M extends CTRModel = CTRModel, O extends GroupOptions = GroupOptions> {
  model: M;
  optimizer: Optimizer<O>;
  train: BatchSource;
  epochs: number;
  /** Seeds the generator that orders the batches of every epoch. */
  seed: number;
  /** Training loss of one batch (default: BCE on batch.labels weighted by batch.weights). */
  loss?: (model: M, batch: Batch) => Tensor;
  /** Validation metrics after each epoch (`epoch` is 1-based). */
  validate?: (model: M, epoch: number) => Record<string, number> | Promise<Record<string, number>>;
  /** Metric that selects the best epoch and drives early stopping (default: auc, max). */
  validationMetric?: ValidationMetric;
  /** Stop after `patience` epochs without an improvement larger than minDelta (default 0). */
  earlyStopping?: { patience: number; minDelta?: number };
  /** Load the best epoch's weights at the end (default true; needs validate). */
  restoreBest?: boolean;
  checkpoints?: {
    store: CheckpointStore;
    /** Also save 'last' every N global steps (it is always saved at epoch ends and on interrupt). */
    everySteps?: number;
    /** Where the store keeps checkpoints, for messages (e.g. its directory). */
    location?: string;
  };
  /** Continue from the store's 'last' checkpoint when there is one. */
  resume?: boolean;
  /** Saved with every checkpoint (JSON), e.g. the run's config, for the caller to check on resume. */
  runConfig?: unknown;
  log?: MetricSink;
  progress?: ProgressReporter;
  /** Aborting stops training at the next batch boundary, after saving 'last'. */
  signal?: AbortSignal;
  /**
   * Called after every optimisation step, before its log record is written; the values it
   * returns are merged into that 'step' record (e.g. gradient probes). It must only read the
   * model: a hook that changed weights or drew random numbers would break exact resume.
   */
  afterStep?: (info: StepInfo<M>) => Record<string, MetricValue> | void;
  /**
   * Training state besides the model and the optimiser (e.g. a loss term's dual variables), by
   * name: checkpointed with them, so that a resume continues bit-identically.
   */
  auxiliary?: Record<string, AuxiliaryState>;
  /**
   * Several task losses in place of `loss`, combined by a multi-task method (static weights,
   * uncertainty weighting, gradient surgery, …; src/train/multitask). The method's state is
   * checkpointed like an auxiliary state, and each step record logs every task's loss.
   */
  tasks?: { names: readonly string[]; losses: (model: M, batch: Batch) => Tensor[]; method: MultiTaskMethod };
}

/** State that the loss changes as it trains; see TrainerOptions.auxiliary. */
export interface AuxiliaryState {
  /** A JSON snapshot (numbers round-trip exactly through JSON). */
  save(): unknown;
  load(state: unknown): void;
  /** Values added to every 'epoch' log record (e.g. the current dual variables). */
  epochRecord?(): Record<string, MetricValue>;
  /** Called when an epoch's last step is done, before its log record (e.g. DWA's next weights). */
  endEpoch?(): void;
}

/** What the afterStep hook sees: the step just taken (gradients are still those of this step). */
export interface StepInfo<M extends CTRModel = CTRModel> {
  model: M;
  batch: Batch;
  loss: number;
  /** 1-based epoch being trained, steps done in it (this one included) and overall. */
  epoch: number;
  step: number;
  globalStep: number;
}

export interface TrainResult {
  /** Epochs completed, including those of a run this one resumed. */
  epochsRun: number;
  globalStep: number;
  best: { metric: number; epoch: number } | null;
  /** Per completed epoch: epoch (1-based), train_loss, rows and the validation metrics. */
  history: Record<string, number>[];
  stoppedEarly: boolean;
  interrupted: boolean;
  /** Whether the model now holds the best epoch's weights rather than the last ones. */
  restoredBest: boolean;
  /** Whether training continued from a checkpoint. */
  resumed: boolean;
}

/** Training hit a NaN/Inf (loss, logits or parameters); nothing was saved after it. */
export class NonFiniteTrainingError extends Error {
  constructor(message: string, readonly epoch: number, readonly step: number, readonly globalStep: number,
    readonly lastGoodStep: number | null, cause?: Error) {
    super(message, cause ? { cause } : undefined);
    this.name = 'NonFiniteTrainingError';
  }
}

/** Kernels reject NaN/Inf inputs with "... is not finite" before the loss can turn into NaN. */
function isNonFinite(e: unknown): e is Error {
  return e instanceof NonFiniteLossError || (e instanceof Error && /\bis not finite\b/.test(e.message));
}

/** First non-finite value among the arrays, or null. */
function findNonFinite(arrays: Iterable<[string, Float32Array]>): { name: string; index: number; value: number } | null {
  for (const [name, a] of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      // v - v is NaN exactly for NaN and ±Infinity, and cheaper than Number.isFinite per element.
      if (v - v !== 0) return { name, index: i, value: v };
    }
  }
  return null;
}

const defaultLoss = (model: CTRModel, b: Batch): Tensor => bceWithLogits(model.forward(b), b.labels, b.weights ?? null);

/** Lets timers and signal handlers (SIGINT → AbortSignal, progress redraws) run between batches. */
const YIELD_EVERY_MS = 50;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Trainer<M extends CTRModel = CTRModel, O extends GroupOptions = GroupOptions> {
  private readonly opts: TrainerOptions<M, O>;
  private readonly lossFn: (model: M, batch: Batch) => Tensor;
  private readonly metric: ValidationMetric | null;
  private readonly progress: ProgressReporter;
  private readonly rng: Rng;
  private state: TrainerState;
  private lastSavedStep: number | null = null;
  /** Best weights when there is no store to hold the 'best' checkpoint. */
  private bestInMemory: Map<string, Float32Array> | null = null;
  private started = false;
  /** Batches of the epoch that just ended (a save at the boundary names that epoch's last step). */
  private lastEpochSteps = 0;

  constructor(opts: TrainerOptions<M, O>) {
    if (!(Number.isInteger(opts.epochs) && opts.epochs >= 0)) throw new Error(`Trainer: epochs must be a non-negative integer, got ${opts.epochs}`);
    if (!Number.isInteger(opts.seed)) throw new Error(`Trainer: seed must be an integer, got ${opts.seed}`);
    const every = opts.checkpoints?.everySteps;
    if (every !== undefined && !(Number.isInteger(every) && every >= 1)) {
      throw new Error(`Trainer: checkpoints.everySteps must be a positive integer, got ${every}`);
    }
    if (opts.earlyStopping) {
      const p = opts.earlyStopping.patience;
      if (!(Number.isInteger(p) && p >= 1)) throw new Error(`Trainer: earlyStopping.patience must be a positive integer, got ${p}`);
      if (!opts.validate) throw new Error('Trainer: early stopping needs a validate callback');
    }
    if (opts.resume && !opts.checkpoints) throw new Error('Trainer: resume needs a checkpoint store');
    this.opts = opts;
    this.lossFn = opts.loss ?? defaultLoss;
    this.metric = opts.validate ? (opts.validationMetric ?? { name: 'auc', mode: 'max' }) : null;
    this.progress = opts.progress ?? new SilentProgress();
    this.rng = new Rng(opts.seed);
    this.state = {
      epoch: 0, stepInEpoch: 0, globalStep: 0, epochRngState: this.rng.getState(), best: null,
      epochsWithoutImprovement: 0, history: [], epochLossSum: 0, epochRows: 0,
    };
  }

  /** A copy of the trainer's state (what the next checkpoint would hold). */
  get trainerState(): TrainerState {
    return JSON.parse(JSON.stringify(this.state)) as TrainerState;
  }

  async run(): Promise<TrainResult> {
    if (this.started) throw new Error('Trainer.run: a Trainer runs once; create a new one (with resume) to continue');
    this.started = true;
    const { model, optimizer, train, epochs, signal, log } = this.opts;
    const store = this.opts.checkpoints?.store ?? null;
    const every = this.opts.checkpoints?.everySteps ?? 0;
    const patience = this.opts.earlyStopping?.patience ?? Infinity;

    let resumed = false;
    if (this.opts.resume && store) {
      const c = store.load('last');
      if (c) {
        model.loadStateDict(c.model);
        optimizer.loadState(c.optimizer);
        this.state = { epochLossSum: 0, epochRows: 0, ...c.trainer };
        this.lastSavedStep = c.trainer.globalStep;
        for (const [name, aux] of Object.entries(this.allAuxiliary())) {
          // None saved: a --force-resume that added the component; it starts fresh from here.
          const saved = c.trainer.auxiliary?.[name];
          if (saved !== undefined) aux.load(saved);
        }
        resumed = true;
      }
    }
    // At an epoch boundary this is the next epoch's start state; mid-epoch, the current one's:
    // either way the epoch about to run draws the same order it drew (or would draw) originally.
    this.rng.setState(this.state.epochRngState);
    const st = this.state;
    log?.write(this.record('start', { resumed, epochs, seed: this.opts.seed }));

    let interrupted = false;
    let stoppedEarly = st.epochsWithoutImprovement >= patience;
    let lastYield = Date.now();
    try {
      while (st.epoch < epochs && !stoppedEarly && !interrupted) {
        if (signal?.aborted) {
          interrupted = true;
          break;
        }
        model.train();
        if (st.stepInEpoch === 0) {
          st.epochRngState = this.rng.getState();
          st.epochLossSum = 0;
          st.epochRows = 0;
        }
        const epoch1 = st.epoch + 1;
        const t0 = Date.now();
        let rowsHere = 0;
        let saveDue = false;
        this.progress.startEpoch({ epoch: epoch1, epochs, totalRows: train.numRows, rowsDone: st.epochRows ?? 0 });

        for (const batch of train.epoch(this.rng, st.stepInEpoch)) {
          // Deferred so that a periodic save falling on an epoch's last batch merges with the
          // epoch-end save; the state is unchanged since that step, so the checkpoint is the same.
          if (saveDue) {
            this.save('last');
            saveDue = false;
          }
          if (Date.now() - lastYield >= YIELD_EVERY_MS) {
            await yieldToEventLoop();
            lastYield = Date.now();
          }
          let loss: number;
          let taskRecord: Record<string, MetricValue> = {};
          model.onTrainingStep(st.globalStep);
          try {
            const tasks = this.opts.tasks;
            if (tasks) {
              const r = trainTaskStep(optimizer, model, () => tasks.losses(model, batch), tasks.method, tasks.names);
              loss = r.loss;
              taskRecord = Object.fromEntries(tasks.names.map((n, t) => [`loss_${n}`, r.taskLosses[t]!]));
              if (r.regularizer !== undefined) taskRecord.regularizer = r.regularizer;
            } else {
              loss = trainStep(optimizer, () => withRegularizer(model, this.lossFn(model, batch)));
            }
          } catch (e) {
            if (isNonFinite(e)) throw this.nonFiniteError(e);
            throw e;
          }
          st.stepInEpoch++;
          st.globalStep++;
          st.epochLossSum = (st.epochLossSum ?? 0) + loss * batch.size;
          st.epochRows = (st.epochRows ?? 0) + batch.size;
          rowsHere += batch.size;
          const seconds = (Date.now() - t0) / 1000;
          const extra = this.opts.afterStep?.({ model, batch, loss, epoch: epoch1, step: st.stepInEpoch, globalStep: st.globalStep }) ?? {};
          log?.write(this.record('step', { ...extra, ...taskRecord, loss, rows: batch.size }));
          this.progress.update({
            rowsDone: st.epochRows, loss: st.epochLossSum / st.epochRows, rowsPerSec: seconds > 0 ? rowsHere / seconds : NaN,
          });
          if (signal?.aborted) {
            interrupted = true;
            break;
          }
          if (store && every > 0 && st.globalStep % every === 0) saveDue = true;
        }
        if (interrupted) break;

        // Epoch complete.
        const seconds = (Date.now() - t0) / 1000;
        const rows = st.epochRows ?? 0;
        const trainLoss = rows > 0 ? (st.epochLossSum ?? 0) / rows : NaN;
        const auxiliaries = Object.values(this.allAuxiliary());
        for (const a of auxiliaries) a.endEpoch?.();
        const auxRecord = Object.assign({}, ...auxiliaries.map((a) => a.epochRecord?.() ?? {})) as Record<string, MetricValue>;
        log?.write(this.record('epoch', { ...auxRecord, loss: trainLoss, rows, rows_per_s: seconds > 0 ? rowsHere / seconds : null, seconds }));
        this.lastEpochSteps = st.stepInEpoch;
        st.epoch++;
        st.stepInEpoch = 0;
        st.epochLossSum = 0;
        st.epochRows = 0;
        // Recorded now (not when the next epoch starts) so the epoch-end checkpoint resumes
        // into the right order.
        st.epochRngState = this.rng.getState();

        let metrics: Record<string, number> = {};
        let improved = false;
        if (this.opts.validate && this.metric) {
          metrics = await this.opts.validate(model, epoch1);
          model.train();
          improved = this.updateBest(metrics, epoch1);
          if (st.epochsWithoutImprovement >= patience) stoppedEarly = true;
          log?.write(this.record('validation', {
            ...metrics, metric: this.metric.name, improved, best: st.best?.metric ?? null, best_epoch: st.best?.epoch ?? null,
          }));
        }
        st.history.push({ ...metrics, epoch: epoch1, train_loss: trainLoss, rows });
        this.progress.endEpoch({ epoch: epoch1, epochs, loss: trainLoss, rows, seconds, metrics });
        if (improved) {
          if (store) this.save('best');
          else if (this.opts.restoreBest ?? true) this.bestInMemory = cloneState(model.stateDict());
        }
        if (store) this.save('last');
      }

      if (interrupted && store) this.save('last');
    } catch (e) {
      if (e instanceof NonFiniteTrainingError) {
        log?.write({ event: 'stop', epoch: e.epoch, step: e.step, globalStep: e.globalStep, reason: 'non_finite', message: e.message });
      }
      throw e;
    } finally {
      this.progress.stop();
    }

    const restoredBest = !interrupted && this.restoreBest();
    const reason = interrupted ? 'interrupted' : stoppedEarly ? 'early_stopping' : 'completed';
    log?.write(this.record('stop', { reason, restored_best: restoredBest, best: st.best?.metric ?? null, best_epoch: st.best?.epoch ?? null }));
    return {
      epochsRun: st.epoch, globalStep: st.globalStep, best: st.best ? { ...st.best } : null,
      history: st.history.map((h) => ({ ...h })), stoppedEarly, interrupted, restoredBest, resumed,
    };
  }

  /** The auxiliary states, with the multi-task method's as 'multitask'. */
  private allAuxiliary(): Record<string, AuxiliaryState> {
    const m = this.opts.tasks?.method;
    return m ? { ...this.opts.auxiliary, multitask: m } : { ...this.opts.auxiliary };
  }

  /** Updates best / epochsWithoutImprovement; true when this epoch is the new best. */
  private updateBest(metrics: Record<string, number>, epoch1: number): boolean {
    const m = this.metric!;
    const v = metrics[m.name];
    if (typeof v !== 'number') {
      throw new Error(`Trainer: validation returned no '${m.name}' (got ${Object.keys(metrics).join(', ') || 'nothing'}); set validationMetric to one of them`);
    }
    const st = this.state;
    const delta = this.opts.earlyStopping?.minDelta ?? 0;
    // NaN (e.g. AUC of a one-class validation set) never counts as an improvement.
    const better = Number.isFinite(v) && (st.best === null
      || (m.mode === 'max' ? v > st.best.metric + delta : v < st.best.metric - delta));
    if (better) {
      st.best = { metric: v, epoch: epoch1 };
      st.epochsWithoutImprovement = 0;
    } else {
      st.epochsWithoutImprovement++;
    }
    return better;
  }

  /** Loads the best epoch's weights when they differ from the current ones. */
  private restoreBest(): boolean {
    const st = this.state;
    if (!(this.opts.restoreBest ?? true) || !st.best || st.best.epoch === st.epoch) return false;
    const store = this.opts.checkpoints?.store;
    const weights = store ? store.load('best')?.model : this.bestInMemory;
    if (!weights) return false;
    this.opts.model.loadStateDict(weights);
    return true;
  }

  /** Saves a checkpoint, refusing a model or optimiser state that holds NaN/Inf. */
  private save(tag: CheckpointTag): void {
    const store = this.opts.checkpoints!.store;
    const model = this.opts.model.stateDict();
    const optimizer = this.opts.optimizer.saveState();
    // A NaN weight can sit behind a relu (or in an embedding row no batch touched yet) with a
    // finite loss; saving it would replace the last good checkpoint with a poisoned one.
    const bad = findNonFinite(model) ?? findNonFinite(optimizer.buffers);
    if (bad) {
      const where = model.has(bad.name) ? `parameter '${bad.name}'` : `optimizer state '${bad.name}'`;
      throw this.nonFiniteError(null, `${where}[${bad.index}] is ${bad.value} after`, true);
    }
    const aux = this.opts.auxiliary === undefined && this.opts.tasks === undefined ? undefined : this.allAuxiliary();
    const trainer = aux === undefined ? this.trainerState : { ...this.trainerState, auxiliary: Object.fromEntries(Object.entries(aux).map(([k, a]) => [k, a.save()])) };
    const c: Checkpoint = { model, optimizer, trainer, ...(this.opts.runConfig === undefined ? {} : { config: this.opts.runConfig }) };
    store.save(tag, c);
    if (tag === 'last') this.lastSavedStep = this.state.globalStep;
  }

  /**
   * The error that ends a run on NaN/Inf. `afterStep` means the state already counts the
   * offending step (a parameter check at save time) rather than the step that just failed.
   */
  private nonFiniteError(cause: Error | null, what?: string, afterStep = false): NonFiniteTrainingError {
    const st = this.state;
    const atBoundary = afterStep && st.stepInEpoch === 0 && st.epoch > 0;
    const epoch = atBoundary ? st.epoch : st.epoch + 1;
    const step = atBoundary ? this.lastEpochSteps : afterStep ? st.stepInEpoch : st.stepInEpoch + 1;
    const globalStep = afterStep ? st.globalStep : st.globalStep + 1;
    let head: string;
    if (what) head = what;
    else if (cause instanceof NonFiniteLossError) head = `loss is ${cause.loss} at`;
    else head = `non-finite value (${cause?.message ?? 'unknown'}) at`;
    const location = this.opts.checkpoints?.location ?? 'the checkpoint store';
    const kept = !this.opts.checkpoints
      ? 'no checkpoint store was configured, so nothing was saved'
      : this.lastSavedStep === null
        ? `no checkpoint had been saved yet; nothing was written to ${location}`
        : `the last good checkpoint (step ${this.lastSavedStep}) is kept in ${location}`;
    return new NonFiniteTrainingError(
      `training stopped: ${head} epoch ${epoch} step ${step} (global step ${globalStep}); ${kept}`,
      epoch, step, globalStep, this.lastSavedStep, cause ?? undefined);
  }

  /**
   * Log record stamped with the position: inside an epoch, the 1-based epoch being trained and
   * the steps done in it; at a boundary, the epoch just completed (step 0) so that epoch-end,
   * validation and stop records name the epoch they are about.
   */
  private record(event: MetricRecord['event'], extra: Record<string, MetricValue>): MetricRecord {
    const st = this.state;
    const atBoundary = st.stepInEpoch === 0 && st.epoch > 0;
    return {
      ...extra, event, epoch: atBoundary ? st.epoch : st.epoch + 1, step: st.stepInEpoch, globalStep: st.globalStep,
    };
  }
}

function cloneState(m: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...m].map(([k, v]) => [k, v.slice()]));
}
