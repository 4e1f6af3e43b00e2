/**
 * `npm run bench -- inference [MODEL_DIR…] [--engine dnn,dcn_par] [--precision fp32,int8,bf16]
 *  [--torch PYTHON] [--no-train] [--batch 4096] [--threads 1] [--windows 5] [--window-sec 1] [--rounds 3]`:
 * inference rows/s of saved models (forward pass without gradients, the model's own dims, random
 * ids over the table) at each precision, and training rows/s of the same architectures (a
 * forward, backward and Adam update with lr 1e-3 per batch, on a copy of the model), to compare
 * architectures side by side — e.g. a searched model (docs/search.md) against its baseline.
 * --engine adds the engine benchmark's models on its synthetic Criteo-shaped data (the shapes of
 * ../shared/bench/torch_throughput.py), and --torch PYTHON runs that script under PYTHON (e.g. a
 * PyTorch 2.x venv, ../shared/bench/setup_torch2.sh) in the same run, for fp32 PyTorch inference
 * beside ours. The models run in interleaved rounds, so a change of the machine's load spreads
 * over all of them; each figure is the median over rounds of timedWindows' median.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { backend, setBackend } from '../src/backend/index.js';
import { loadNativeKernels } from '../src/backend/native.js';
import { endStep, noGrad } from '../src/autograd/tape.js';
import { sigmoid } from '../src/autograd/ops/elementwise.js';
import type { Batch } from '../src/data/batch.js';
import { loadModel } from '../src/io/modelFile.js';
import type { CTRModel } from '../src/models/ctrModel.js';
import { setInferencePrecision } from '../src/models/inferencePrecision.js';
import { isPrecision, precisionNote, PRECISIONS, type Precision } from '../src/nn/quantize.js';
import { int8Kernels } from '../src/backend/int8.js';
import { bf16Kernels } from '../src/backend/bf16.js';
import { Rng } from '../src/util/random.js';
import { Adam } from '../src/optim/adam.js';
import { trainStep } from '../src/train/step.js';
import { bceWithLogits } from '../src/autograd/ops/loss.js';
import { Reporter, cpuModel, flagValue, hasFlag } from './report.js';
import { timedWindows } from './timing.js';
import { build } from './engine.js';
import { syntheticPool } from './synthetic.js';
import { sharedDir } from './paths.js';

const VALUE_FLAGS = new Set(['--batch', '--threads', '--windows', '--window-sec', '--rounds', '--engine', '--precision', '--torch']);

interface Bench {
  name: string;
  config: string;
  model: CTRModel;
  precision: Precision;
  /** Batches scored round-robin (one for a saved model, the synthetic pool for --engine). */
  batches: Batch[];
  /** fp32 rows train a copy of the model too (unless --no-train). */
  trained?: { model: CTRModel; optimizer: Adam };
  infer: number[];
  train: number[];
}

interface TorchRow { model: string; infer_sps: number; torch: string }

function runTorch(python: string, models: string[], threads: number, size: number, rep: Reporter): Map<string, TorchRow> {
  const out = new Map<string, TorchRow>();
  const script = join(sharedDir(), 'bench', 'torch_throughput.py');
  if (!existsSync(script) || !existsSync(python)) {
    rep.note(`PyTorch reference skipped: ${!existsSync(script) ? script : python} not found (../shared/bench/setup_torch2.sh makes a PyTorch 2.x venv)`);
    return out;
  }
  rep.note(`running the PyTorch reference (${python} torch_throughput.py --threads ${threads} --models ${models.join(',')}) …`);
  const r = spawnSync(python, [script, '--threads', String(threads), '--models', models.join(','), '--batch', String(size), '--windows', '5', '--window-sec', '1'],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    rep.note(`PyTorch reference failed: ${(r.stderr || '').split('\n').slice(-3).join(' ')}`);
    return out;
  }
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as TorchRow;
    out.set(row.model, row);
  }
  return out;
}

export function inferenceBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const dirs = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && VALUE_FLAGS.has(argv[i - 1]!)));
  const engine = flagValue(argv, '--engine')?.split(',').filter(Boolean) ?? [];
  if (dirs.length === 0 && engine.length === 0) throw new Error('bench inference: give model directories and/or --engine dnn,dcn_par');
  const size = Number(flagValue(argv, '--batch') ?? 4096);
  const threads = Number(flagValue(argv, '--threads') ?? 1);
  const windows = Number(flagValue(argv, '--windows') ?? 5);
  const windowSec = Number(flagValue(argv, '--window-sec') ?? 1);
  const rounds = Number(flagValue(argv, '--rounds') ?? 3);
  const withTrain = !hasFlag(argv, '--no-train');
  const precisions = (flagValue(argv, '--precision') ?? 'fp32').split(',').map((p): Precision => {
    if (!isPrecision(p)) throw new Error(`bench inference: --precision takes ${PRECISIONS.join(', ')}, got '${p}'`);
    return p;
  });
  const loaded = loadNativeKernels();
  if (loaded.kernels) setBackend(loaded.kernels);
  const kern = backend();
  kern.setThreads(threads);
  const int8 = (precisions.includes('int8') ? `; int8 kernel ${int8Kernels().int8KernelName()}` : '') +
    (precisions.includes('bf16') ? `; bf16 kernel ${bf16Kernels().bf16KernelName()}` : '');
  rep.note(`cpu: ${cpuModel()} (${cpus().length} logical CPUs); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; backend: ${kern.name}, ${threads} thread(s); batch ${size}${int8}`);

  const benches: Bench[] = [];
  const add = (name: string, config: string, make: () => CTRModel, batches: Batch[]): void => {
    for (const precision of precisions) {
      const model = make();
      const report = setInferencePrecision(model, precision);
      if (precision !== 'fp32') rep.note(`${name}: ${precisionNote(report)}`);
      let trained: Bench['trained'];
      if (withTrain && precision === 'fp32') {
        // Training on a copy, so that the inference timings keep reading the initial weights.
        const copy = make();
        trained = { model: copy, optimizer: new Adam([{ params: copy.parameters(), tables: copy.tables() }], { lr: 1e-3 }) };
      }
      benches.push({ name, config, model, precision, batches, ...(trained && { trained }), infer: [], train: [] });
    }
  };
  for (const dir of dirs) {
    const { manifest } = loadModel(dir);
    const dims = manifest.dims as { numIds: number; numFields?: number; denseDim?: number };
    const F = dims.numFields ?? 0;
    const D = dims.denseDim ?? 0;
    const rng = new Rng(1);
    // Ids spread over the whole table: what a lookup costs does not depend on which row it reads.
    const batch: Batch = {
      size, numFields: F, ids: Int32Array.from({ length: size * F }, () => rng.int(dims.numIds)), labels: new Float32Array(size),
      ...(D > 0 && { dense: Float32Array.from({ length: size * D }, () => rng.uniform()), denseDim: D }),
    };
    add(dir, JSON.stringify(manifest.model), () => loadModel(dir).model, [batch]);
  }
  if (engine.length > 0) {
    const pool = syntheticPool(size);
    for (const name of engine) add(name, 'engine (synthetic Criteo-shaped, torch_throughput.py shapes)', () => build(name), pool);
  }

  // PyTorch runs before and after ours and keeps its faster figure: on a shared machine a change
  // of load then cannot favour ctrkit.
  const torchPython = flagValue(argv, '--torch');
  const torchRun = (): Map<string, TorchRow> => (torchPython !== undefined && engine.length > 0 ? runTorch(torchPython, engine, threads, size, rep) : new Map());
  const torch = torchRun();
  for (let r = 0; r < rounds; r++) {
    for (const b of benches) {
      b.infer.push(timedWindows((i) => {
        noGrad(() => sigmoid(b.model.forward(b.batches[i % b.batches.length]!)));
        endStep();
      }, size, windows, windowSec).median);
      const t = b.trained;
      if (t) {
        b.train.push(timedWindows((i) => {
          const batch = b.batches[i % b.batches.length]!;
          trainStep(t.optimizer, () => bceWithLogits(t.model.forward(batch), batch.labels));
        }, size, windows, windowSec).median);
      }
    }
  }
  const median = (a: number[]): number | null => (a.length === 0 ? null : Math.round([...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!));
  for (const [name, row] of torchRun()) if (row.infer_sps > (torch.get(name)?.infer_sps ?? 0)) torch.set(name, row);
  for (const b of benches) {
    const infer = median(b.infer)!;
    const fp32 = median(benches.find((o) => o.name === b.name && o.precision === 'fp32')?.infer ?? []);
    const ref = torch.get(b.name);
    rep.row({
      bench: 'inference', model: b.name, config: b.config, precision: b.precision, threads, batch: size, infer_rows_per_s: infer,
      train_rows_per_s: median(b.train), vs_fp32: fp32 ? Number((infer / fp32).toFixed(2)) : null,
      ...(ref && { torch_fp32_infer_rows_per_s: ref.infer_sps, vs_torch_fp32: Number((infer / ref.infer_sps).toFixed(2)) }),
    });
  }
  for (const [name, ref] of torch) rep.row({ bench: 'inference', model: name, config: `PyTorch ${ref.torch}`, precision: 'fp32', threads, batch: size, infer_rows_per_s: ref.infer_sps });
}
