/**
 * `npm run bench -- shampoo [--json] [--threads 2] [--precond-every 100] [--block-size 128]`
 *
 * Step time of Shampoo vs AdaGrad on the engine benchmark's DNN (624-400-400-400, batch 4096,
 * synthetic Criteo-shaped data). Each optimiser is timed over exactly `precondEvery` steps
 * after a warm-up, so Shampoo's window contains one recomputation of every inverse root and
 * the mean step time includes its amortised cost. The machine is shared: the load average is
 * printed with the figures.
 */
import { cpus, loadavg } from 'node:os';
import { backend, setBackend } from '../src/backend/index.js';
import { loadNativeKernels } from '../src/backend/native.js';
import { bceWithLogits } from '../src/autograd/ops/loss.js';
import { AdaGrad } from '../src/optim/adagrad.js';
import { Shampoo } from '../src/optim/shampoo.js';
import type { GroupOptions, Optimizer } from '../src/optim/optimizer.js';
import { trainStep } from '../src/train/step.js';
import type { CTRModel } from '../src/models/ctrModel.js';
import { build } from './engine.js';
import { syntheticPool } from './synthetic.js';
import { Reporter, flagValue, hasFlag } from './report.js';

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

export function shampooBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const threads = Number(flagValue(argv, '--threads') ?? 2);
  const precondEvery = Number(flagValue(argv, '--precond-every') ?? 100);
  const blockSize = Number(flagValue(argv, '--block-size') ?? 128);
  const loaded = loadNativeKernels();
  if (loaded.kernels) setBackend(loaded.kernels);
  const k = backend();
  k.setThreads(threads);
  rep.note(`backend ${k.name}, ${threads} threads, cpu ${cpus()[0]?.model.trim() ?? 'unknown'} × ${cpus().length}, load average before ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const pool = syntheticPool(4096);

  const time = (name: string, make: (m: CTRModel) => Optimizer<GroupOptions>): number => {
    const model = build('dnn');
    const opt = make(model);
    const step = (i: number): number => {
      const b = pool[i % pool.length]!;
      return trainStep(opt, () => bceWithLogits(model.forward(b), b.labels));
    };
    // Warm-up: Shampoo's first step (startStep 1) computes the roots once; the timed window
    // (steps 2 … precondEvery + 1) holds exactly one more recomputation, at its last step.
    for (let i = 0; i < 3; i++) step(i);
    const t0 = performance.now();
    let loss = 0;
    for (let i = 0; i < precondEvery - 2 + 1; i++) loss = step(i + 3);
    const ms = (performance.now() - t0) / (precondEvery - 1);
    rep.row({ bench: 'shampoo', optimizer: name, threads, ms_per_step: round(ms, 1), steps: precondEvery - 1, last_loss: round(loss, 4) });
    return ms;
  };
  const ada = time('adagrad', (m) => new AdaGrad([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01 }));
  const sh = time('shampoo', (m) => new Shampoo([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01, blockSize, precondEvery }));
  rep.row({ bench: 'shampoo_ratio', threads, precond_every: precondEvery, block_size: blockSize, adagrad_ms: round(ada, 1), shampoo_ms: round(sh, 1),
    ratio: round(sh / ada, 3), load_avg_1m: round(loadavg()[0]!, 2), cpu: cpus()[0]?.model.trim() ?? 'unknown' });
}
