/**
 * `npm run bench -- mtl [--json] [--threads 2] [--batch 1024] [--steps 30] [--split none|tensor|chunk]`
 *
 * Step time and memory of gradient surgery: PCGrad (one backward per task over the retained
 * tape, row-sparse table blocks, combined in src/train/multitask) vs plain summed losses (one
 * backward), on a census-income-shaped 2-task MMoE-like model: 39 fields with the cardinalities
 * of ../shared/data/census_income_kdd (numeric columns capped at 100 values; 1,046 rows in one
 * embedding table), embedding dim 16, 8 shared experts [128, 64], one softmax gate and one tower
 * [64] per task (income, never-married), Adam, synthetic labels from hidden logistic models.
 * The model is a stand-in defined here until the real MMoE lands (then: createModel('mmoe')).
 *
 * Both train side by side, one step each in turn, so that the load of a shared machine weighs on
 * both alike. Memory: RSS and the step arena's pooled bytes after a static-only warm-up and again
 * after PCGrad's, so the second figure shows what PCGrad adds (the arena keeps its high-water mark).
 */
import { loadavg } from 'node:os';
import { bceWithLogits } from '../src/autograd/ops/loss.js';
import { concat, reshape } from '../src/autograd/ops/layout.js';
import { sum } from '../src/autograd/ops/reduce.js';
import { softmax } from '../src/autograd/ops/softmax.js';
import type { Batch } from '../src/data/batch.js';
import { MultiTaskModel, type HeadLogits } from '../src/models/ctrModel.js';
import { Embedding } from '../src/nn/embedding.js';
import { Linear } from '../src/nn/linear.js';
import { MLP } from '../src/nn/mlp.js';
import { Adam } from '../src/optim/adam.js';
import type { Parameter, Tensor } from '../src/tensor/tensor.js';
import { createMultiTaskMethod, parseMultiTaskConfig } from '../src/train/multitask/registry.js';
import type { MultiTaskMethod } from '../src/train/multitask/method.js';
import { trainTaskStep } from '../src/train/step.js';
import { PCGrad } from '../src/train/multitask/pcgrad.js';
import { backward, endStep, stepArena } from '../src/autograd/tape.js';
import { taskGradients } from '../src/autograd/taskGradients.js';
import { add, mul } from '../src/autograd/ops/elementwise.js';
import { Rng } from '../src/util/random.js';
import { Reporter, flagValue, hasFlag, timingBackend } from './report.js';

/** Distinct values per input column of census-income (test split; numeric columns capped at 100). */
const CARDINALITIES = [91, 9, 52, 47, 17, 100, 3, 24, 15, 5, 10, 2, 3, 6, 8, 100, 100, 100, 6, 6, 51, 37, 8, 10, 9, 10, 3, 4, 7, 5, 43, 43, 43, 5, 3, 3, 3, 53, 2];
const TASKS = ['income', 'never_married'] as const;
const DIM = 16;
const EXPERTS = 8;
const EXPERT_DIMS = [128, 64];
const TOWER = [64];

/** Shared embedding, shared experts, a softmax gate and a tower per task (MMoE, Ma et al. 2018). */
class StandInMMoE extends MultiTaskModel {
  readonly kind = 'mmoe-standin';
  private readonly emb: Embedding;
  private readonly experts: MLP[];
  private readonly gates: Linear[];
  private readonly towers: MLP[];

  constructor(rng: Rng) {
    super();
    const rows = CARDINALITIES.reduce((a, b) => a + b, 0);
    const inDim = CARDINALITIES.length * DIM;
    this.emb = this.child('emb', new Embedding({ numRows: rows, dim: DIM, initStd: 0.05 }, rng));
    this.experts = Array.from({ length: EXPERTS }, (_, e) => this.child(`experts.${e}`, new MLP({ inDim, hidden: EXPERT_DIMS }, rng)));
    this.gates = TASKS.map((t) => this.child(`gates.${t}`, new Linear({ inDim, outDim: EXPERTS }, rng)));
    this.towers = TASKS.map((t) => this.child(`towers.${t}`, new MLP({ inDim: EXPERT_DIMS.at(-1)!, hidden: TOWER, outDim: 1 }, rng)));
  }

  get heads(): readonly string[] {
    return TASKS;
  }

  lastSharedLayer(): Parameter[] {
    return this.experts.flatMap((e) => e.layers.at(-1)!.parameters());
  }

  forwardHeads(batch: Batch): HeadLogits {
    const n = batch.size;
    const x = this.emb.fields(batch.ids, n, batch.numFields);
    const d = EXPERT_DIMS.at(-1)!;
    const experts = reshape(concat(this.experts.map((e) => e.forward(x)), 1), [n, EXPERTS, d]);
    const out: Record<string, Tensor> = {};
    TASKS.forEach((t, i) => {
      const gate = reshape(softmax(this.gates[i]!.forward(x)), [n, EXPERTS, 1]);
      out[t] = reshape(this.towers[i]!.forward(sum(mul(experts, gate), 1)), [n]);
    });
    return out;
  }
}

function pool(batch: number, count: number, seed: number): Batch[] {
  const rng = new Rng(seed);
  const offsets = CARDINALITIES.map((_, f) => CARDINALITIES.slice(0, f).reduce((a, b) => a + b, 0));
  const rows = CARDINALITIES.reduce((a, b) => a + b, 0);
  const truth = TASKS.map(() => Float32Array.from({ length: rows }, () => rng.normal() * 0.4));
  const F = CARDINALITIES.length;
  return Array.from({ length: count }, () => {
    const ids = new Int32Array(batch * F);
    const labels = TASKS.map(() => new Float32Array(batch));
    for (let b = 0; b < batch; b++) {
      const z = [-2.5, -0.3];
      for (let f = 0; f < F; f++) {
        const id = offsets[f]! + rng.int(CARDINALITIES[f]!);
        ids[b * F + f] = id;
        truth.forEach((w, t) => (z[t] = z[t]! + w[id]!));
      }
      labels.forEach((y, t) => (y[b] = rng.uniform() < 1 / (1 + Math.exp(-z[t]!)) ? 1 : 0));
    }
    return { size: batch, numFields: F, ids, labels: labels[0]!, taskLabels: labels };
  });
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
const MiB = 1024 * 1024;

interface Contender {
  name: string;
  step: (b: Batch) => void;
  times: number[];
}

export function mtlBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const threads = Number(flagValue(argv, '--threads') ?? 2);
  const batchSize = Number(flagValue(argv, '--batch') ?? 1024);
  const steps = Number(flagValue(argv, '--steps') ?? 30);
  const split = flagValue(argv, '--split') ?? 'none';
  const cpu = timingBackend(rep, threads);
  const batches = pool(batchSize, 8, 3);

  const contender = (name: string, cfg: unknown): Contender => {
    const model = new StandInMMoE(new Rng(1));
    const method: MultiTaskMethod = createMultiTaskMethod(parseMultiTaskConfig(cfg), {
      taskNames: TASKS, weights: TASKS.map(() => 1), seed: 1, lastSharedLayer: model.namedParameters().filter(([, p]) => model.lastSharedLayer().includes(p)).map(([n]) => n),
    });
    const opt = new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 0.001 });
    const c: Contender = { name, times: [], step: () => undefined };
    c.step = (b: Batch): void => {
      const t = performance.now();
      trainTaskStep(opt, model, () => {
        const z = model.forwardHeads(b);
        return TASKS.map((task, i) => bceWithLogits(z[task]!, b.taskLabels![i]!));
      }, method, TASKS);
      c.times.push(performance.now() - t);
    };
    return c;
  };
  const plain = contender('summed', { type: 'static' });
  const surgery = contender(`pcgrad(${split})`, { type: 'pcgrad', split });
  const memory = (phase: string): void => {
    const m = process.memoryUsage();
    rep.row({ bench: 'mtl_memory', after: phase, rss_mb: round(m.rss / MiB, 1), heap_mb: round(m.heapUsed / MiB, 1), arena_mb: round(stepArena().pooledBytes / MiB, 1),
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1) });
  };
  memory('start');
  for (let i = 0; i < 3; i++) plain.step(batches[i]!);
  memory('summed warm-up');
  for (let i = 0; i < 3; i++) surgery.step(batches[i]!);
  memory('pcgrad warm-up');
  for (const c of [plain, surgery]) c.times = [];
  for (let i = 0; i < steps; i++) for (const c of [plain, surgery]) c.step(batches[i % batches.length]!);
  for (const c of [plain, surgery]) rep.row({ bench: 'mtl', method: c.name, batch: batchSize, threads, steps, ms_per_step: round(c.times.reduce((a, b) => a + b, 0) / steps, 2), ms_median: round(median(c.times), 2) });
  const total = (c: Contender): number => c.times.reduce((a, b) => a + b, 0);
  rep.row({ bench: 'mtl_ratio', split, ratio: round(total(surgery) / total(plain), 3), ratio_median_steps: round(median(surgery.times) / median(plain.times), 3), target: 1.6,
    load_avg_1m: round(loadavg()[0]!, 2), cpu });
  memory('timed steps');
  breakdown(rep, batches, split === 'chunk' || split === 'tensor' ? split : 'none');
}

/**
 * Where PCGrad's extra time goes (median over a few steps, no optimiser update): the forward
 * pass, one backward of the summed loss, the per-task backward passes with their copies
 * (taskGradients), and the surgery itself (combine).
 */
function breakdown(rep: Reporter, batches: Batch[], split: 'none' | 'tensor' | 'chunk'): void {
  const model = new StandInMMoE(new Rng(1));
  const method = new PCGrad(TASKS.length, 1, { split, chunkSize: 1024 });
  const losses = (b: Batch): Tensor[] => {
    const z = model.forwardHeads(b);
    return TASKS.map((task, i) => bceWithLogits(z[task]!, b.taskLabels![i]!));
  };
  const t = { forward: [] as number[], backward: [] as number[], taskGradients: [] as number[], combine: [] as number[] };
  for (let i = 0; i < 8; i++) {
    const b = batches[i % batches.length]!;
    let t0 = performance.now();
    let l = losses(b);
    t.forward.push(performance.now() - t0);
    t0 = performance.now();
    backward(add(l[0]!, l[1]!));
    t.backward.push(performance.now() - t0);
    endStep();
    l = losses(b);
    t0 = performance.now();
    const g = taskGradients(l, model.namedParameters(), model.namedTables());
    t.taskGradients.push(performance.now() - t0);
    t0 = performance.now();
    g.assign(method.combine(g.blocks, { step: i, losses: [0, 0] }));
    t.combine.push(performance.now() - t0);
    endStep();
  }
  rep.row({ bench: 'mtl_breakdown', split, forward_ms: round(median(t.forward), 2), summed_backward_ms: round(median(t.backward), 2),
    task_backwards_ms: round(median(t.taskGradients), 2), surgery_ms: round(median(t.combine), 2) });
}
