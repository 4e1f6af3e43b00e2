/**
 * `train.search`: the efficiency search of SPEC §6 inside an ordinary training run. The config's
 * `model` (a dcnv2) is the baseline; the search trains a weight-sharing super-network over the
 * candidate sizes (src/models/superDcnv2.ts) and, alternating with its steps, a controller
 * (src/train/archController.ts) rewarded with
 *   R = R_acc + γ · |cost(d) / target − 1|,   target = search.target × cost(baseline),
 * R_acc the sampled candidate's AUC (or −LogLoss) on the next chunk of validation rows, cost its
 * forward FLOPs per example (src/models/flops.ts) or its measured training-step time. The run then saves the chosen candidate,
 * with the super-network's weights for it, as an ordinary dcnv2 model, and writes
 * `chosen.yaml` (the run's config with that model section, to train from scratch) and
 * `search.json` (the trajectory: probabilities, rewards, costs per controller step).
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../schema/errors.js';
import type { Dataset } from '../data/dataset.js';
import type { ModelConfig, ModelDims } from '../models/registry.js';
import { SuperDCNv2, extractSubnet, type Architecture } from '../models/superDcnv2.js';
import type { DCNv2 } from '../models/dcnv2.js';
import { dcnv2Flops } from '../models/flops.js';
import { ArchController, type ControllerStep, type Decision } from '../train/archController.js';
import type { AuxiliaryState, StepInfo } from '../train/trainer.js';
import type { MetricValue } from '../train/metricLog.js';
import { predictRows } from '../train/predict.js';
import { auc } from '../metrics/auc.js';
import { logLoss } from '../metrics/logLoss.js';
import { writeFileAtomic } from '../io/atomic.js';
import { RowGatherer } from '../data/batching.js';
import { createModel } from '../models/registry.js';
import { createOptimizer, type OptimizerConfig } from '../optim/registry.js';
import { trainStep } from '../train/step.js';
import { weightedBce } from '../losses/weightedBce.js';
import type { ExperimentConfig } from './config.js';

const positiveInt = z.number().int().positive();
const candidates = z.array(positiveInt).min(1).refine((a) => new Set(a).size === a.length, 'candidates must be distinct');

export const searchSchema = z.strictObject({
  /** reinforce: the controller; random: the same budget with uniform samples (the baseline a controller must beat). */
  method: z.enum(['reinforce', 'random']).default('reinforce'),
  /** Embedding dimension candidates (default: the model's dim only). */
  dims: candidates.optional(),
  /** Width candidates of every hidden layer, one decision per layer (default: the model's widths only). */
  hidden: candidates.optional(),
  /** Low-rank cross rank candidates, one decision for all cross layers (default: the model's cross). */
  crossRanks: candidates.optional(),
  /**
   * flops: forward FLOPs per example, exact from the sizes; time: the measured time of a
   * training step of a separately built model of the candidate's sizes (median of timingSteps).
   */
  cost: z.enum(['flops', 'time']).default('flops'),
  timingSteps: positiveInt.default(5),
  /** The cost target as a fraction of the baseline model's cost (e.g. 0.85, 0.9, 0.95). */
  target: z.number().positive().finite(),
  /** γ < 0: weight of the cost term |cost/target − 1|. */
  gamma: z.number().negative().finite().default(-0.5),
  /** R_acc: auc, or logloss (R_acc = −LogLoss). */
  reward: z.enum(['auc', 'logloss']).default('auc'),
  /** Validation rows per controller step (consecutive chunks, cycling through the validation rows). */
  rewardRows: positiveInt.default(1024),
  /** α₀, the controller's learning rate. */
  lr: z.number().positive().finite().default(1),
  /** m of the moving-average reward baseline R̄. */
  baselineMomentum: z.number().min(0).lt(1).default(0.9),
  /** Training steps on uniformly sampled candidates before the first controller step. */
  warmup: z.number().int().min(0).default(0),
  /** One controller step every N training steps. */
  every: positiveInt.default(1),
  /**
   * After the search, train the chosen architecture from scratch (chosen.yaml, into
   * <output>/retrain, same settings and seed): the run's result is then that model's, the
   * comparison the search is for (inherited weights flatter a candidate).
   */
  retrain: z.boolean().default(false),
});

export type SearchConfig = z.output<typeof searchSchema>;

export function parseSearchConfig(raw: unknown, where: string): SearchConfig {
  const r = searchSchema.safeParse(raw);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new ConfigError([`${[where, ...i.path.map(String)].join('.')}: ${i.message}`]);
}

/** What train.search needs of the rest of the config; each problem as `path: message`. */
export function checkSearch(cfg: ExperimentConfig['train'], model: ModelConfig, at: (path: string, msg: string) => void): void {
  const s = cfg.search;
  if (s === undefined) return;
  if (model.type !== 'dcnv2') {
    at('train.search', `searches a dcnv2 super-network; model.type is '${model.type}'`);
    return;
  }
  if (cfg.tasks !== undefined) at('train.search', 'not supported with train.tasks');
  if (cfg.online !== undefined) at('train.search', 'not supported with train.online (the controller is rewarded on validation rows)');
  if (cfg.distill !== undefined) at('train.search', 'not supported with train.distill');
  if (s.hidden !== undefined && model.hidden.length === 0) at('train.search.hidden', 'model.hidden has no layers to search');
  const decisions = [s.dims, s.crossRanks, ...(s.hidden === undefined ? [] : model.hidden.map(() => s.hidden))].filter((c) => (c?.length ?? 0) > 1);
  if (decisions.length === 0) at('train.search', 'nothing to search: give two or more candidates in dims, hidden or crossRanks');
}

type DCNv2ModelConfig = Extract<ModelConfig, { type: 'dcnv2' }>;

/** chosen.yaml: the searched run's config with the chosen model section, no search, output <output>/retrain. */
export interface ChosenConfig {
  data: ExperimentConfig['data'];
  model: DCNv2ModelConfig;
  train: Omit<ExperimentConfig['train'], 'search'>;
  output: string;
}

export interface SearchRun {
  net: SuperDCNv2;
  controller: ArchController;
  /** The trainer's auxiliary state: the controller and the measured step times. */
  state: AuxiliaryState;
  afterStep(info: StepInfo): Record<string, MetricValue>;
  /** Sets the super-network to the controller's current answer (what validation scores). */
  useBest(): void;
  /** The chosen candidate as an ordinary model (inherited weights) and its `model` section. */
  finish(): { model: DCNv2; modelConfig: DCNv2ModelConfig; architecture: Architecture };
  /** Writes search.json and chosen.yaml into the run's output directory; returns chosen.yaml's config. */
  write(output: string, cfg: ExperimentConfig, chosen: DCNv2ModelConfig): ChosenConfig;
}

export interface SearchInputs {
  search: SearchConfig;
  model: DCNv2ModelConfig;
  dims: ModelDims;
  seed: number;
  dataset: Dataset;
  validation: { start: number; end: number };
  /** The fit rows and the training settings, for a measured step time (cost: time). */
  fit: { start: number; end: number };
  batchSize: number;
  optimizer: OptimizerConfig;
  /** Probabilities of logits, on the data's scale (the run's sampling correction). */
  probs: (z: Float32Array) => Float64Array;
  file: string;
}

export function startSearch(inp: SearchInputs): SearchRun {
  const { search: s, model: base, dims, seed, dataset: ds, validation } = inp;
  const nVal = validation.end - validation.start;
  if (nVal === 0) throw new ConfigError([`${inp.file}: train.search: the controller's reward is measured on validation rows, and the validation split is empty`]);
  // Decisions with a single candidate are fixed, not searched.
  const decisions: (Decision & { set: (a: Architecture & { hidden: number[] }, v: number) => void })[] = [];
  const add = (name: string, c: readonly number[] | undefined, set: (a: Architecture & { hidden: number[] }, v: number) => void): void => {
    if (c !== undefined && c.length > 1) decisions.push({ name, candidates: c, set });
  };
  add('dim', s.dims, (a, v) => { a.dim = v; });
  if (s.hidden !== undefined) base.hidden.forEach((_, i) => add(`hidden${i}`, s.hidden, (a, v) => { a.hidden[i] = v; }));
  add('crossRank', s.crossRanks, (a, v) => { a.crossRank = v; });
  const fixed: Architecture = {
    dim: s.dims?.[0] ?? base.dim,
    hidden: base.hidden.map((h) => s.hidden?.[0] ?? h),
    ...(s.crossRanks !== undefined ? { crossRank: s.crossRanks[0]! } : {}),
  };
  const architecture = (choice: readonly number[]): Architecture => {
    const a = { ...fixed, hidden: [...fixed.hidden] };
    decisions.forEach((d, j) => d.set(a, d.candidates[choice[j]!]!));
    return a;
  };
  const max = (c: readonly number[] | undefined, own: number): number => (c === undefined ? own : Math.max(...c));
  const net = new SuperDCNv2({
    numIds: dims.numIds, numFields: dims.numFields!, denseDim: dims.denseDim, numSequences: dims.numSequences,
    dim: max(s.dims, base.dim), hidden: base.hidden.map((h) => max(s.hidden, h)), crossLayers: base.crossLayers,
    crossRank: s.crossRanks === undefined ? base.crossRank : Math.max(...s.crossRanks), crossRamp: base.crossRamp, rezero: base.rezero,
    structure: base.structure, activation: base.activation, smeluBeta: base.smeluBeta, dropout: base.dropout, rank: base.rank,
    initStd: base.initStd, logits: base.logits, seed,
  });
  const controller = new ArchController({ decisions, method: s.method, lr: s.lr, baselineMomentum: s.baselineMomentum, seed });
  const configOf = (a: Architecture): DCNv2ModelConfig => ({ ...base, dim: a.dim, hidden: [...a.hidden], ...(a.crossRank !== undefined && { crossRank: a.crossRank }) });
  const flops = (m: DCNv2ModelConfig): number => dcnv2Flops({ ...m, numFields: dims.numFields!, numSequences: dims.numSequences, denseDim: dims.denseDim });
  // Measured step times by candidate (checkpointed: a resume reuses what was measured before it).
  const measured = new Map<string, number>();
  const stepTime = (m: DCNv2ModelConfig): number => {
    const key = JSON.stringify(m);
    let ms = measured.get(key);
    if (ms === undefined) {
      ms = measureStepTime(m, inp);
      measured.set(key, ms);
    }
    return ms;
  };
  const costOf = (m: DCNv2ModelConfig): number => (s.cost === 'flops' ? flops(m) : stepTime(m));
  // Lazy: a measured baseline comes from the checkpointed measurements after a resume.
  const baselineCost = (): number => costOf(base);
  // Training step t trains the candidate drawn with key 2t, the controller step after it draws with 2t + 1.
  net.architectureAt = (step) => architecture(controller.sample(2 * step));
  const labels = ds.labels[0]!;

  const rewardOf = (a: Architecture, k: number): { reward: number; accuracy: number; cost: number } => {
    const n = Math.min(s.rewardRows, nVal);
    const from = (k * n) % nVal;
    const rows = Int32Array.from({ length: n }, (_, i) => validation.start + ((from + i) % nVal));
    net.setArchitecture(a);
    const p = inp.probs(predictRows(net, ds, rows));
    net.train();
    const y = Float32Array.from(rows, (r) => labels[r]!);
    const accuracy = s.reward === 'auc' ? auc(p, y) : -logLoss(p, y);
    if (!Number.isFinite(accuracy)) {
      throw new ConfigError([`${inp.file}: train.search.rewardRows: the validation rows ${from + 1}..${from + n} (of ${nVal}) give no ${s.reward} (one class only?); use more rows per controller step`]);
    }
    const cost = costOf(configOf(a));
    return { reward: accuracy + s.gamma * Math.abs(cost / (s.target * baselineCost()) - 1), accuracy, cost };
  };

  const state: AuxiliaryState = {
    save: () => ({ controller: controller.save(), measured: [...measured] }),
    load: (saved) => {
      const v = saved as { controller: unknown; measured: [string, number][] };
      controller.load(v.controller);
      measured.clear();
      for (const [k, ms] of v.measured) measured.set(k, ms);
    },
    epochRecord: () => controller.epochRecord(),
  };

  return {
    net, controller, state,
    afterStep(info): Record<string, MetricValue> {
      const g = info.globalStep;
      if (g <= s.warmup || (g - s.warmup) % s.every !== 0) return {};
      const choice = controller.sample(2 * (g - 1) + 1);
      // The k-th controller step reads the k-th chunk (k from the trajectory, which a resume restores).
      const r = rewardOf(architecture(choice), controller.trajectory.length);
      const rec = controller.update(g, choice, r.reward, { accuracy: r.accuracy, cost: r.cost, cost_ratio: r.cost / baselineCost() });
      return { search_reward: rec.reward, search_accuracy: r.accuracy, search_cost_ratio: r.cost / baselineCost() };
    },
    useBest() {
      net.setArchitecture(architecture(controller.best()));
    },
    finish() {
      const a = architecture(controller.best());
      net.setArchitecture(null);
      return { model: extractSubnet(net, a), modelConfig: configOf(a), architecture: a };
    },
    write(output, cfg, chosen) {
      const choice = controller.best();
      const report = {
        method: s.method, target: s.target, gamma: s.gamma, reward: s.reward, cost: s.cost,
        baseline: { model: base, flops: flops(base), cost: baselineCost() }, targetCost: s.target * baselineCost(),
        decisions: decisions.map((d) => ({ name: d.name, candidates: d.candidates })),
        chosen: { model: chosen, flops: flops(chosen), cost: costOf(chosen), costRatio: costOf(chosen) / baselineCost(), choice },
        probabilities: controller.probabilities(),
        trajectory: controller.trajectory.map((t: ControllerStep) => ({ ...t, architecture: architecture(t.choice) })),
      };
      writeFileAtomic(join(output, 'search.json'), `${JSON.stringify(report, null, 1)}\n`);
      const { search: _s, ...train } = cfg.train;
      const config: ChosenConfig = { data: cfg.data, model: chosen, train, output: join(output, 'retrain') };
      const unit = s.cost === 'flops' ? 'FLOPs per example' : 'ms per training step';
      const head = `# The architecture chosen by the efficiency search of ${cfg.file} (${s.method}, target ${s.target} of the baseline's cost, ${s.cost}):\n`
        + `# ${costOf(chosen)} ${unit}, ${(100 * costOf(chosen) / baselineCost()).toFixed(1)} % of the baseline's ${baselineCost()}; ${flops(chosen)} FLOPs per example.\n`
        + '# An ordinary config: `ctrkit train` trains it from scratch (relative paths resolve as in the original).\n';
      writeFileAtomic(join(output, 'chosen.yaml'), head + stringify(config));
      return config;
    },
  };
}

/**
 * Milliseconds of one training step (forward, backward, optimiser update) of a freshly built model
 * of the given sizes on the first batch of fit rows: the median of timingSteps after one warm-up
 * step. The table has only the rows the batch reads (lookups cost the same), so timing a
 * candidate never allocates the full vocabulary.
 */
function measureStepTime(m: DCNv2ModelConfig, inp: SearchInputs): number {
  const { dataset: ds, fit, dims } = inp;
  const n = Math.min(inp.batchSize, fit.end - fit.start);
  const batch = new RowGatherer(ds).gather(Int32Array.from({ length: n }, (_, i) => fit.start + i), 0, n);
  let maxId = 0;
  for (const id of batch.ids) maxId = Math.max(maxId, id);
  for (const sq of batch.sequences ?? []) for (const id of sq.ids) maxId = Math.max(maxId, id);
  const model = createModel(m, { ...dims, numIds: maxId + 1 }, inp.seed);
  const optimizer = createOptimizer(inp.optimizer, model);
  const once = (): number => {
    const t0 = performance.now();
    trainStep(optimizer, () => weightedBce(model.forward(batch), batch));
    return performance.now() - t0;
  };
  once();
  const times = Array.from({ length: inp.search.timingSteps }, once).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
