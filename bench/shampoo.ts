/**
 * `npm run bench -- shampoo [--json] [--threads 2] [--precond-every 100] [--block-size 128]`
 *
 * Step time of Shampoo vs AdaGrad on the engine benchmark's DNN (624-400-400-400, batch 4096,
 * synthetic Criteo-shaped data). Both train side by side, one step each in turn, so that the
 * load of a shared machine weighs on both alike; each is timed over exactly `precondEvery`
 * steps after a warm-up, so Shampoo's window holds one recomputation of every inverse root and
 * its mean step time includes their amortised cost. The tables take row-wise AdaGrad in both,
 * so the difference is the dense preconditioning alone. The load average is printed with the
 * figures.
 */
import { loadavg } from 'node:os';
import { bceWithLogits } from '../src/autograd/ops/loss.js';
import { AdaGrad } from '../src/optim/adagrad.js';
import { Shampoo } from '../src/optim/shampoo.js';
import type { GroupOptions, Optimizer } from '../src/optim/optimizer.js';
import { trainStep } from '../src/train/step.js';
import type { CTRModel } from '../src/models/ctrModel.js';
import { build } from './engine.js';
import { syntheticPool } from './synthetic.js';
import { Reporter, flagValue, hasFlag, timingBackend } from './report.js';

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

interface Contender {
  name: string;
  step: (i: number) => number;
  /** Milliseconds in the whole step and in optimizer.step() alone, since the last reset. */
  ms: number;
  optMs: number;
  /** Whole-step and optimizer.step() times of each timed step. */
  steps: number[];
  optSteps: number[];
  loss: number;
}

export function shampooBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const threads = Number(flagValue(argv, '--threads') ?? 2);
  const precondEvery = Number(flagValue(argv, '--precond-every') ?? 100);
  const blockSize = Number(flagValue(argv, '--block-size') ?? 128);
  const cpu = timingBackend(rep, threads);
  const pool = syntheticPool(4096);

  const contender = (name: string, make: (m: CTRModel) => Optimizer<GroupOptions>): Contender => {
    const model = build('dnn');
    const opt = make(model);
    const c: Contender = { name, step: () => 0, ms: 0, optMs: 0, steps: [], optSteps: [], loss: NaN };
    const inner = opt.step.bind(opt);
    opt.step = (): void => {
      const t = performance.now();
      inner();
      const dt = performance.now() - t;
      c.optMs += dt;
      c.optSteps.push(dt);
    };
    c.step = (i: number): number => {
      const b = pool[i % pool.length]!;
      const t = performance.now();
      c.loss = trainStep(opt, () => bceWithLogits(model.forward(b), b.labels));
      const dt = performance.now() - t;
      c.ms += dt;
      c.steps.push(dt);
      return c.loss;
    };
    return c;
  };
  const tables = (m: CTRModel): { tables: ReturnType<CTRModel['tables']>; rowwise: true } => ({ tables: m.tables(), rowwise: true });
  const all = [
    contender('adagrad', (m) => new AdaGrad([{ params: m.parameters() }, tables(m)], { lr: 0.01 })),
    contender('shampoo', (m) => new Shampoo([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01, blockSize, precondEvery })),
  ];
  // Warm-up: Shampoo's first step (startStep 1) computes the roots once; the timed window
  // (steps 2 … precondEvery + 1) holds exactly one more recomputation, at its last step.
  for (const c of all) {
    c.step(0);
    c.ms = 0;
    c.optMs = 0;
    c.optSteps = [];
    c.steps = [];
  }
  const steps = precondEvery;
  for (let i = 1; i <= steps; i++) for (const c of all) c.step(i);
  for (const c of all) {
    rep.row({ bench: 'shampoo', optimizer: c.name, threads, ms_per_step: round(c.ms / steps, 1), optimizer_ms_per_step: round(c.optMs / steps, 1),
      ms_median: round(median(c.steps), 1), optimizer_ms_median: round(median(c.optSteps), 1), optimizer_ms_max: round(Math.max(...c.optSteps), 1),
      steps, last_loss: round(c.loss, 4) });
  }
  const [ada, sh] = all as [Contender, Contender];
  // Load spikes from other processes land on single steps; the robust ratio takes median steps
  // and adds the root recomputation (the slowest optimizer step above its median) amortised.
  const refresh = Math.max(...sh.optSteps) - median(sh.optSteps);
  rep.row({ bench: 'shampoo_ratio', threads, precond_every: precondEvery, block_size: blockSize, adagrad_ms: round(ada.ms / steps, 1),
    shampoo_ms: round(sh.ms / steps, 1), ratio: round(sh.ms / ada.ms, 3),
    ratio_median_steps: round((median(sh.steps) + refresh / precondEvery) / median(ada.steps), 3), roots_ms: round(refresh, 0),
    load_avg_1m: round(loadavg()[0]!, 2), cpu });
}
