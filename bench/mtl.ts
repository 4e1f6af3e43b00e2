/**
 * `npm run bench -- mtl [--json] [--threads 2] [--batch 256] [--steps 40] [--split none|tensor|chunk]`
 *
 * Step time and memory of gradient surgery: PCGrad (one backward per task over the retained
 * tape, row-sparse table blocks, combined in src/train/multitask) vs plain summed losses (static
 * weights, one backward), on the census MMoE of examples/census-mmoe.yaml (the real data, the
 * example's model and batch size; two tasks), each step through the runner's task losses
 * (experiment/taskTraining.ts) and trainTaskStep with the example's Adam.
 *
 * Both train side by side, one step each in turn, over the same batches, so that the load of a
 * shared machine weighs on both alike. Memory: RSS and the step arena's pooled bytes after a
 * summed-only warm-up and again after PCGrad's (the arena keeps its high-water mark, so the
 * difference is what PCGrad adds). A breakdown says where PCGrad's extra time goes. The ratio
 * is also given in process CPU time per step, which a loaded machine disturbs far less than wall
 * time (with --threads 1; with 2, the thread pool's waiting counts too).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { backward, clearIntermediateGradients, endStep, stepArena } from '../src/autograd/tape.js';
import { add } from '../src/autograd/ops/elementwise.js';
import { taskGradients } from '../src/autograd/taskGradients.js';
import type { Batch } from '../src/data/batch.js';
import { ShuffledBatches } from '../src/data/batching.js';
import { loadExperimentConfig, type ExperimentConfig } from '../src/experiment/config.js';
import { taskTrainerOptions } from '../src/experiment/taskTraining.js';
import { runTasks } from '../src/experiment/tasks.js';
import type { CTRModel } from '../src/models/ctrModel.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { createModel } from '../src/models/registry.js';
import { createOptimizer } from '../src/optim/registry.js';
import { buildDataset } from '../src/schema/index.js';
import { PCGrad } from '../src/train/multitask/pcgrad.js';
import type { Split } from '../src/train/multitask/segments.js';
import { trainTaskStep } from '../src/train/step.js';
import { Rng } from '../src/util/random.js';
import { packageRoot } from './paths.js';
import { Reporter, flagValue, hasFlag, timingBackend } from './report.js';

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
const MiB = 1024 * 1024;

interface Contender {
  name: string;
  step: (b: Batch) => void;
  times: number[];
  /** CPU ms of the process per step: on a loaded machine, steadier than wall time (at --threads 1). */
  cpu: number[];
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function mtlBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const threads = Number(flagValue(argv, '--threads') ?? 2);
  const steps = Number(flagValue(argv, '--steps') ?? 40);
  const split = (flagValue(argv, '--split') ?? 'none') as Split;
  if (!['none', 'tensor', 'chunk'].includes(split)) throw new Error(`--split must be none, tensor or chunk, got ${split}`);
  const cpu = timingBackend(rep, threads);
  const root = packageRoot();
  const cfg = await loadExperimentConfig(join(root, 'examples', 'census-mmoe.yaml'), root);
  const batchSize = Number(flagValue(argv, '--batch') ?? cfg.train.batchSize);
  const { dataset: ds, split: rows } = await buildDataset(cfg.data, root);
  const tasks = runTasks(cfg);
  const dims = { numIds: ds.numIds, numFields: ds.numFields, denseDim: ds.denseNames?.length ?? 0, numSequences: ds.sequences?.length ?? 0, tasks: tasks.map((t) => t.name) };
  // The gatherer reuses one batch object: keep copies of the first 16 full batches.
  const batches: Batch[] = [];
  for (const b of new ShuffledBatches(ds, rows.fit, batchSize).epoch(new Rng(1))) {
    if (batches.length === 16) break;
    const labels = b.taskLabels!.map((y) => y.slice());
    if (b.size === batchSize) batches.push({ ...b, ids: b.ids.slice(), labels: labels[0]!, taskLabels: labels, weights: b.weights?.slice(), dense: b.dense?.slice() });
  }
  const build = (multitask: ExperimentConfig['train']['multitask']) => {
    const model = createModel(cfg.model, dims, 1);
    let opt: ReturnType<typeof createOptimizer> | undefined;
    const t = taskTrainerOptions({ ...cfg, train: { ...cfg.train, multitask } }, tasks, model, 1, () => opt?.stepCount ?? 0);
    opt = createOptimizer(cfg.train.optimizer, model);
    return { model, opt, t };
  };
  const shared = (m: CTRModel): number => m.namedParameters().reduce((s, [n, p]) => s + (n.startsWith('experts.') || n.startsWith('input.') ? p.size : 0), 0);
  const probe = build({ type: 'static' });
  rep.note(`census MMoE (examples/census-mmoe.yaml: ${JSON.stringify(cfg.model)}), ${ds.numFields} fields, ${ds.numIds} ids, batch ${batchSize}, ` +
    `${probe.model.parameters().reduce((s, p) => s + p.size, 0)} dense floats (${shared(probe.model)} in shared layers), tasks ${tasks.map((t) => t.name).join(', ')}`);

  const contender = (name: string, multitask: ExperimentConfig['train']['multitask']): Contender => {
    const { model, opt, t } = build(multitask);
    const c: Contender = { name, times: [], cpu: [], step: () => undefined };
    c.step = (b: Batch): void => {
      const t0 = performance.now(), c0 = cpuMs();
      trainTaskStep(opt, model, () => t.losses(model, b), t.method, t.names);
      c.times.push(performance.now() - t0);
      c.cpu.push(cpuMs() - c0);
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
  for (const c of [plain, surgery]) {
    c.times = [];
    c.cpu = [];
  }
  for (let i = 0; i < steps; i++) for (const c of [plain, surgery]) c.step(batches[i % batches.length]!);
  const total = (c: Contender): number => c.times.reduce((a, b) => a + b, 0);
  for (const c of [plain, surgery]) rep.row({ bench: 'mtl', method: c.name, batch: batchSize, threads, steps, ms_per_step: round(total(c) / steps, 2), ms_median: round(median(c.times), 2), cpu_ms_median: round(median(c.cpu), 2) });
  rep.row({ bench: 'mtl_ratio', split, ratio: round(total(surgery) / total(plain), 3), ratio_median_steps: round(median(surgery.times) / median(plain.times), 3),
    cpu_ratio_median_steps: round(median(surgery.cpu) / median(plain.cpu), 3), target: 1.6,
    load_avg_1m: round(loadavg()[0]!, 2), cpu });
  memory('timed steps');
  // Floor of any exact per-task method: the summed step plus one more backward pass, no surgery.
  const extraBackward = breakdown(rep, build({ type: 'static' }), batches, split);
  rep.row({ bench: 'mtl_floor', split, floor_ratio: round((median(plain.times) + extraBackward) / median(plain.times), 3), measured_ratio_median_steps: round(median(surgery.times) / median(plain.times), 3) });
}

/**
 * Where PCGrad's extra time goes (medians over 16 steps, no optimiser update): the forward
 * pass, one backward of the summed loss, the per-task backward passes with their copies
 * (taskGradients), and the surgery itself (combine and assign).
 */
function breakdown(rep: Reporter, { model, t }: { model: CTRModel; t: { losses: (m: CTRModel, b: Batch) => Tensor[] } }, batches: Batch[], split: Split): number {
  const method = new PCGrad(2, 1, { split, chunkSize: 1024 });
  const ms = { forward: [] as number[], backward: [] as number[], bare: [] as number[], taskGradients: [] as number[], surgery: [] as number[] };
  // No optimiser runs here, so nothing else clears the gradients (tables keep pending lookups).
  const endAndZero = (): void => {
    endStep();
    for (const p of model.parameters()) p.grad.fill(0);
    for (const [, tb] of model.namedTables()) tb.zeroGrad();
  };
  for (let i = 0; i < 16; i++) {
    const b = batches[i % batches.length]!;
    let t0 = performance.now();
    let l = t.losses(model, b);
    ms.forward.push(performance.now() - t0);
    t0 = performance.now();
    backward(l.reduce((x, y) => add(x, y)));
    ms.backward.push(performance.now() - t0);
    endAndZero();
    // The two backward passes alone, over the retained tape: what any exact per-task method pays
    // (each into its own buffers, set at their first write, as taskGradients' passes are).
    l = t.losses(model, b);
    t0 = performance.now();
    l.forEach((loss, k) => {
      clearIntermediateGradients();
      backward(loss, undefined, { retain: true, into: new Map(model.parameters().map((p) => [p, null])), intoOwn: k === 0 });
    });
    ms.bare.push(performance.now() - t0);
    endAndZero();
    l = t.losses(model, b);
    t0 = performance.now();
    const g = taskGradients(l, model.namedParameters(), model.namedTables());
    ms.taskGradients.push(performance.now() - t0);
    t0 = performance.now();
    g.assign(method.combine(g.blocks, { step: i, losses: [0, 0] }));
    ms.surgery.push(performance.now() - t0);
    endAndZero();
  }
  rep.row({ bench: 'mtl_breakdown', split, forward_ms: round(median(ms.forward), 2), summed_backward_ms: round(median(ms.backward), 2),
    bare_task_backwards_ms: round(median(ms.bare), 2), task_backwards_ms: round(median(ms.taskGradients), 2), surgery_ms: round(median(ms.surgery), 2) });
  return median(ms.bare) - median(ms.backward);
}
