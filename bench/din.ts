/**
 * `npm run bench -- din [--json] [--threads 1,2] [--batch 1024] [--hist 50] [--windows 5] [--window-sec 1]`
 *
 * Training rows/s of DIN vs the DNN at the same width (embedding dim 16, MLP 200-80) on synthetic
 * rows of 8 id fields (one the target item) and a behaviour history of `--hist` events from the
 * target's id range: the DNN mean-pools the history, DIN attends to it (attention MLP 36). The
 * issue's target is DIN ≥ 50 % of the DNN's rows/s. DNN and DIN windows alternate and the ratio is
 * the median over window pairs (min–max); at 1 thread rows per CPU-second too, which a busy
 * machine disturbs less than wall time.
 */
import { cpus } from 'node:os';
import { backend, setBackend } from '../src/backend/index.js';
import { loadNativeKernels } from '../src/backend/native.js';
import { bceWithLogits } from '../src/autograd/ops/loss.js';
import type { Batch } from '../src/data/batch.js';
import type { FeatureInfo } from '../src/data/features.js';
import { createModel, parseModelConfig, type ModelConfigInput } from '../src/models/registry.js';
import { Adam } from '../src/optim/adam.js';
import { Rng } from '../src/util/random.js';
import { trainStep } from '../src/train/step.js';
import { Reporter, cpuModel, flagValue, hasFlag } from './report.js';
import { spread as stats, timeWindow, windowSteps } from './timing.js';

const FIELDS = 8;
const PER_FIELD = 1000;
const TARGET = 0;

function batches(n: number, size: number, hist: number, rng: Rng): Batch[] {
  return Array.from({ length: n }, () => {
    const ids = Int32Array.from({ length: size * FIELDS }, (_, p) => (p % FIELDS) * PER_FIELD + rng.int(PER_FIELD));
    const offsets = Int32Array.from({ length: size + 1 }, (_, r) => r * hist);
    const seq = Int32Array.from({ length: size * hist }, () => TARGET * PER_FIELD + rng.int(PER_FIELD));
    const labels = Float32Array.from({ length: size }, () => (rng.uniform() < 0.3 ? 1 : 0));
    return { size, numFields: FIELDS, ids, labels, sequences: [{ offsets, ids: seq }] };
  });
}

export function dinBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const threads = (flagValue(argv, '--threads') ?? '1,2').split(',').map(Number);
  const size = Number(flagValue(argv, '--batch') ?? 1024);
  const hist = Number(flagValue(argv, '--hist') ?? 50);
  const windows = Number(flagValue(argv, '--windows') ?? 5);
  const windowSec = Number(flagValue(argv, '--window-sec') ?? 1);
  const loaded = loadNativeKernels();
  if (loaded.kernels) setBackend(loaded.kernels);
  const k = backend();
  rep.note(`cpu: ${cpuModel()} (${cpus().length} logical CPUs); backend: ${k.name}; batch ${size}, history ${hist} events`);
  const features: FeatureInfo[] = [
    ...Array.from({ length: FIELDS }, (_, j): FeatureInfo => ({ name: `f${j}`, kind: 'id', index: j, offset: j * PER_FIELD, size: PER_FIELD })),
    { name: 'hist', kind: 'sequence', index: 0, offset: TARGET * PER_FIELD, size: PER_FIELD, vocab: `f${TARGET}` },
  ];
  const dims = { numIds: FIELDS * PER_FIELD, numFields: FIELDS, numSequences: 1, features };
  const configs: Record<string, ModelConfigInput> = {
    dnn: { type: 'dnn', dim: 16, hidden: [200, 80] },
    din: { type: 'din', dim: 16, hidden: [200, 80], attention: [{ sequence: 'hist', target: `f${TARGET}` }], attentionHidden: [36] },
  };
  const pool = batches(8, size, hist, new Rng(1));
  for (const t of threads) {
    k.setThreads(t);
    const steps = Object.entries(configs).map(([name, cfg]) => {
      const model = createModel(parseModelConfig(cfg), dims, 1);
      const opt = new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 0.001 });
      let i = 0;
      const step = (): void => {
        const b = pool[i++ % pool.length]!;
        trainStep(opt, () => bceWithLogits(model.forward(b), b.labels));
      };
      return { name, step, n: windowSteps(step, windowSec) };
    });
    // Windows alternate DNN, DIN, DNN, … so that both see the same load on a shared machine; the
    // ratio is taken per window pair. CPU time (1 thread) is the rate unaffected by waiting for a core.
    const wall: number[][] = steps.map(() => []);
    const cpu: number[][] = steps.map(() => []);
    for (let w = 0; w < windows; w++) {
      steps.forEach(({ step, n }, m) => {
        const r = timeWindow(step, n, size);
        wall[m]!.push(r.wall);
        cpu[m]!.push(r.cpu);
      });
    }
    steps.forEach(({ name }, m) => {
      const r = stats(wall[m]!);
      rep.row({ bench: 'train', model: name, threads: t, backend: k.name, rows_per_s: Math.round(r.median), min: Math.round(r.min), max: Math.round(r.max),
        ...(t === 1 ? { rows_per_cpu_s: Math.round(stats(cpu[m]!).median) } : {}) });
    });
    const ratio = stats(wall[1]!.map((v, w) => v / wall[0]![w]!));
    const round2 = (v: number): number => Math.round(v * 100) / 100;
    rep.row({ bench: 'din_vs_dnn', threads: t, ratio: round2(ratio.median), min: round2(ratio.min), max: round2(ratio.max),
      ...(t === 1 ? { cpu_ratio: round2(stats(cpu[1]!.map((v, w) => v / cpu[0]![w]!)).median) } : {}) });
  }
}

