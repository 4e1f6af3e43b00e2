/**
 * `npm run bench -- inference MODEL_DIR… [--batch 4096] [--threads 1] [--windows 5] [--window-sec 1] [--rounds 3]`:
 * inference rows/s of saved models (forward pass without gradients, the model's own dims, random
 * ids over the table), and training rows/s of the same architectures (a forward, backward and
 * Adam update with lr 1e-3 per batch, on a copy of the model), to compare architectures side by
 * side — e.g. a searched model (docs/search.md) against its baseline. The models run in
 * interleaved rounds, so a change of the machine's load spreads over all of them; each figure is
 * the median over rounds of timedWindows' median.
 */
import { cpus, loadavg } from 'node:os';
import { backend, setBackend } from '../src/backend/index.js';
import { loadNativeKernels } from '../src/backend/native.js';
import { endStep, noGrad } from '../src/autograd/tape.js';
import type { Batch } from '../src/data/batch.js';
import { loadModel } from '../src/io/modelFile.js';
import { Rng } from '../src/util/random.js';
import { Adam } from '../src/optim/adam.js';
import { trainStep } from '../src/train/step.js';
import { bceWithLogits } from '../src/autograd/ops/loss.js';
import { Reporter, flagValue, hasFlag } from './report.js';
import { timedWindows } from './timing.js';

export function inferenceBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const dirs = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1]!.startsWith('--') && argv[i - 1] !== '--json'));
  if (dirs.length === 0) throw new Error('bench inference: give one or more model directories');
  const size = Number(flagValue(argv, '--batch') ?? 4096);
  const threads = Number(flagValue(argv, '--threads') ?? 1);
  const windows = Number(flagValue(argv, '--windows') ?? 5);
  const windowSec = Number(flagValue(argv, '--window-sec') ?? 1);
  const rounds = Number(flagValue(argv, '--rounds') ?? 3);
  const loaded = loadNativeKernels();
  if (loaded.kernels) setBackend(loaded.kernels);
  const kern = backend();
  kern.setThreads(threads);
  rep.note(`cpu: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} logical CPUs); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; backend: ${kern.name}, ${threads} thread(s); batch ${size}`);
  const models = dirs.map((dir) => {
    const { model, manifest } = loadModel(dir);
    const dims = manifest.dims as { numIds: number; numFields?: number; denseDim?: number };
    const F = dims.numFields ?? 0;
    const D = dims.denseDim ?? 0;
    const rng = new Rng(1);
    // Ids spread over the whole table: what a lookup costs does not depend on which row it reads.
    const batch: Batch = {
      size, numFields: F, ids: Int32Array.from({ length: size * F }, () => rng.int(dims.numIds)), labels: new Float32Array(size),
      ...(D > 0 && { dense: Float32Array.from({ length: size * D }, () => rng.uniform()), denseDim: D }),
    };
    model.eval();
    // Training on a copy, so that the inference timings keep reading the saved weights.
    const trained = loadModel(dir).model;
    const optimizer = new Adam([{ params: trained.parameters(), tables: trained.tables() }], { lr: 1e-3 });
    return { dir, model, trained, optimizer, batch, config: JSON.stringify(manifest.model), infer: [] as number[], train: [] as number[] };
  });
  for (let r = 0; r < rounds; r++) {
    for (const m of models) {
      m.infer.push(timedWindows(() => {
        noGrad(() => m.model.forward(m.batch));
        endStep();
      }, size, windows, windowSec).median);
      m.train.push(timedWindows(() => {
        trainStep(m.optimizer, () => bceWithLogits(m.trained.forward(m.batch), m.batch.labels));
      }, size, windows, windowSec).median);
    }
  }
  const median = (a: number[]): number => Math.round([...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!);
  for (const m of models) {
    rep.row({ bench: 'inference', model: m.dir, config: m.config, threads, batch: size, infer_rows_per_s: median(m.infer), train_rows_per_s: median(m.train) });
  }
}
