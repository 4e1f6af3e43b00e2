/**
 * `npm run bench -- engine [--json] [--threads 1,2] [--models lr,dnn,dcn_par,dcn_stack]
 *  [--windows 7] [--window-sec 1.5] [--rounds 2] [--torch PYTHON [--debian]] [--no-torch] [--no-gemm] [--no-models]`
 * `npm run bench -- engine --profile [--threads 2] [--models dnn,dcn_par] [--steps 5]`: the per-op
 * profile of one training and one inference step of each model (bench/profile.ts) instead.
 *
 * GEMM GFLOP/s (vs OpenBLAS in the same process when present, and vs torch.mm — MKL — when
 * --torch names a PyTorch 2.x python, ../shared/bench/setup_torch2.sh) and training / inference
 * samples/s of LR, DNN and DCN-v2 on the synthetic Criteo-shaped data, side by side with
 * ../shared/bench/torch_throughput.py in its best 2-core setting, under that python (Debian's
 * torch 1.13 without --torch; both with --debian). Prints the CPU it ran on: the model name, and
 * CPUID's family/model, caches and FMA units with the GEMM blocking derived from them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { backend, setBackend } from '../src/backend/index.js';
import { loadNativeKernels, type NativeAddon } from '../src/backend/native.js';
import { bceWithLogits } from '../src/autograd/ops/loss.js';
import { noGrad, endStep } from '../src/autograd/tape.js';
import { sigmoid } from '../src/autograd/ops/elementwise.js';
import { AdaGrad } from '../src/optim/adagrad.js';
import { trainStep } from '../src/train/step.js';
import { LR } from '../src/models/lr.js';
import { DNN } from '../src/models/dnn.js';
import { DCNv2 } from '../src/models/dcnv2.js';
import type { CTRModel } from '../src/models/ctrModel.js';
import { syntheticPool, FIELDS, VOCAB, DIM } from './synthetic.js';
import { timedWindows } from './timing.js';
import { Reporter, cpuModel, flagValue, hasFlag } from './report.js';
import { profiledKernels, profileRows } from './profile.js';
import { sharedDir } from './paths.js';

export const GEMM_SHAPES: { name: string; ta: boolean; tb: boolean; M: number; N: number; K: number }[] = [
  { name: 'fwd 4096x624 · 624x400', ta: false, tb: false, M: 4096, N: 400, K: 624 },
  { name: 'fwd 4096x400 · 400x400', ta: false, tb: false, M: 4096, N: 400, K: 400 },
  { name: 'dX 4096x400 · (624x400)ᵀ', ta: false, tb: true, M: 4096, N: 624, K: 400 },
  { name: 'dX 4096x400 · (400x400)ᵀ', ta: false, tb: true, M: 4096, N: 400, K: 400 },
  { name: 'dW (4096x624)ᵀ · 4096x400', ta: true, tb: false, M: 624, N: 400, K: 4096 },
  { name: 'dW (4096x400)ᵀ · 4096x400', ta: true, tb: false, M: 400, N: 400, K: 4096 },
  { name: 'cross fwd 4096x624 · 624x624', ta: false, tb: false, M: 4096, N: 624, K: 624 },
  { name: 'cross dX 4096x624 · (624x624)ᵀ', ta: false, tb: true, M: 4096, N: 624, K: 624 },
  { name: 'cross dW (4096x624)ᵀ · 4096x624', ta: true, tb: false, M: 624, N: 624, K: 4096 },
];

export function gflops(fn: () => void, flops: number, windowSec: number): number {
  fn();
  let best = 0;
  for (let w = 0; w < 5; w++) {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < (windowSec * 1000) / 5) {
      fn();
      n++;
    }
    best = Math.max(best, (n * flops) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return best;
}

interface GemmRef { gflops: number; torch: string }

/** torch.mm under `python` (bench/torch_gemm.py) on every shape and thread count; empty on failure. */
function torchGemm(python: string, threads: number[], windowSec: number, rep: Reporter): Map<string, GemmRef> {
  const out = new Map<string, GemmRef>();
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'torch_gemm.py');
  const r = spawnSync(python, [script], { input: JSON.stringify({ shapes: GEMM_SHAPES, threads, window_sec: windowSec }),
    encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    rep.note(`torch.mm reference failed: ${(r.stderr || r.error?.message || '').split('\n').slice(-3).join(' ')}`);
    return out;
  }
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { name: string; threads: number; gflops: number; torch: string };
    out.set(`${row.name}|${row.threads}`, { gflops: row.gflops, torch: row.torch });
  }
  return out;
}

/**
 * GEMM GFLOP/s of ctrkit, OpenBLAS (in process, when present) and torch.mm (MKL, when --torch
 * names a PyTorch 2.x python), in `rounds` interleaved rounds (ours and OpenBLAS, then torch.mm),
 * each figure the best over rounds, so a burst of load elsewhere hits every engine alike.
 */
function benchGemm(rep: Reporter, threads: number[], windowSec: number, rounds: number, torchPython: string | undefined): void {
  const loaded = loadNativeKernels();
  const k = loaded.kernels ?? backend();
  const addon = loaded.addon;
  const blas = addon?.blasAvailable?.() ? addon : null;
  const best = new Map<string, { ours: number; blas?: number; mkl?: GemmRef }>();
  const data = GEMM_SHAPES.map((s) => ({
    A: new Float32Array(s.M * s.K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5),
    B: new Float32Array(s.K * s.N).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5),
    C: new Float32Array(s.M * s.N),
  }));
  for (let rnd = 0; rnd < rounds; rnd++) {
    GEMM_SHAPES.forEach((s, si) => {
      const { A, B, C } = data[si]!;
      const flops = 2 * s.M * s.N * s.K;
      for (const t of threads) {
        k.setThreads(t);
        const key = `${s.name}|${t}`;
        const b = best.get(key) ?? { ours: 0 };
        b.ours = Math.max(b.ours, gflops(() => k.gemm(s.ta, s.tb, s.M, s.N, s.K, 1, A, B, 0, C), flops, windowSec));
        if (blas) {
          blas.blasSetThreads!(t);
          b.blas = Math.max(b.blas ?? 0, gflops(() => blas.blasGemm!(s.ta, s.tb, s.M, s.N, s.K, 1, A, B, 0, C), flops, windowSec));
        }
        best.set(key, b);
      }
    });
    if (torchPython) {
      for (const [key, ref] of torchGemm(torchPython, threads, windowSec, rep)) {
        const b = best.get(key);
        if (b && ref.gflops > (b.mkl?.gflops ?? 0)) b.mkl = ref;
      }
    }
  }
  for (const s of GEMM_SHAPES) {
    for (const t of threads) {
      const b = best.get(`${s.name}|${t}`)!;
      rep.row({ bench: 'gemm', shape: s.name, threads: t, backend: k.name, gflops: round(b.ours, 1),
        openblas_gflops: b.blas === undefined ? null : round(b.blas, 1), ratio_vs_openblas: b.blas ? round(b.ours / b.blas, 3) : null,
        mkl_gflops: b.mkl ? round(b.mkl.gflops, 1) : null, ratio_vs_mkl: b.mkl ? round(b.ours / b.mkl.gflops, 3) : null,
        ...(b.mkl && { torch: b.mkl.torch }) });
    }
  }
}

export function build(name: string): CTRModel {
  const common = { numIds: VOCAB, numFields: FIELDS, dim: DIM, hidden: [400, 400, 400], initStd: 0.01, seed: 0 };
  switch (name) {
    case 'lr': {
      const m = new LR({ numIds: VOCAB, seed: 0 });
      m.w.data.fill(0); // as the PyTorch script: zero-initialised LR weights
      return m;
    }
    case 'dnn': return new DNN(common);
    case 'dcn_par': return new DCNv2({ ...common, crossLayers: 3, structure: 'parallel' });
    case 'dcn_stack': return new DCNv2({ ...common, crossLayers: 3, structure: 'stacked' });
    default: throw new Error(`bench engine: unknown model '${name}' (lr, dnn, dcn_par, dcn_stack)`);
  }
}

interface TorchRow { model: string; train_sps: number; infer_sps: number; torch: string }

/**
 * torch_throughput.py under `python` with `args` (its thread flags), one row per model; empty when
 * the script, the python or torch is missing.
 */
function runTorch(python: string, args: string[], models: string[], windows: number, windowSec: number, rep: Reporter): Map<string, TorchRow> {
  const out = new Map<string, TorchRow>();
  const script = join(sharedDir(), 'bench', 'torch_throughput.py');
  if (!existsSync(script) || !existsSync(python)) {
    rep.note(`PyTorch reference skipped: ${!existsSync(script) ? script : python} not found`);
    return out;
  }
  const all = [script, ...args, '--models', models.join(','), '--windows', String(windows), '--window-sec', String(windowSec)];
  rep.note(`running the PyTorch reference (${python} ${all.join(' ')}) …`);
  const r = spawnSync(python, all, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    rep.note(`PyTorch reference failed: ${(r.stderr || '').split('\n').slice(-3).join(' ')}`);
    return out;
  }
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as TorchRow;
    out.set(row.model, row);
    rep.row({ bench: 'torch_ref', model: row.model, torch: row.torch, threads: 2, train_samples_per_s: row.train_sps, infer_samples_per_s: row.infer_sps });
  }
  return out;
}

/**
 * Per-op profile: `steps` training steps, then `steps` inference steps, of each model after a
 * warm-up, every kernel call timed (bench/profile.ts); GEMM rates as a share of the FMA peak
 * measured here with the same threads.
 */
function profileEngine(rep: Reporter, models: string[], threads: number[], steps: number): void {
  const loaded = loadNativeKernels();
  const inner = backend();
  const peakOf = (t: number): number => {
    inner.setThreads(t);
    return loaded.addon?.fmaPeak?.(1)?.gflops ?? NaN;
  };
  const prof = profiledKernels(inner);
  const pool = syntheticPool(4096);
  try {
    for (const t of threads) {
      const peak = peakOf(t);
      rep.row({ bench: 'fma_peak', threads: t, gflops: round(peak, 1), kernel: loaded.addon?.kernelName() ?? inner.name });
      setBackend(prof.kernels);
      for (const name of models) {
        const model = build(name);
        const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.01 });
        const phases: [string, (i: number) => void][] = [
          ['train', (i) => { const b = pool[i % pool.length]!; trainStep(opt, () => bceWithLogits(model.forward(b), b.labels)); }],
          ['infer', (i) => { const b = pool[i % pool.length]!; noGrad(() => sigmoid(model.forward(b))); endStep(); }],
        ];
        for (const [phase, step] of phases) {
          if (phase === 'infer') model.eval();
          for (let i = 0; i < 3; i++) step(i);
          prof.take();
          const t0 = performance.now();
          for (let i = 0; i < steps; i++) step(i);
          const stepMs = (performance.now() - t0) / steps;
          const ops = prof.take();
          const gflop = ops.reduce((s, o) => s + o.flops, 0) / steps / 1e9;
          rep.row({ bench: 'profile_step', model: name, phase, threads: t, ms_per_step: round(stepMs, 2),
            samples_per_s: Math.round(4096 / (stepMs / 1000)), gemm_gflop_per_step: round(gflop, 2),
            effective_gflops: round(gflop / (stepMs / 1000), 1), pct_of_peak: round((100 * gflop) / (stepMs / 1000) / peak, 1) });
          for (const r of profileRows(ops, steps, stepMs, peak)) rep.row({ bench: 'profile', model: name, phase, threads: t, ...r });
        }
      }
      setBackend(inner);
    }
  } finally {
    setBackend(inner);
  }
}

export function engineBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const threads = (flagValue(argv, '--threads') ?? '1,2').split(',').map(Number);
  const models = (flagValue(argv, '--models') ?? 'lr,dnn,dcn_par,dcn_stack').split(',');
  const windows = Number(flagValue(argv, '--windows') ?? 7);
  const windowSec = Number(flagValue(argv, '--window-sec') ?? 1.5);
  const loaded = loadNativeKernels();
  if (loaded.kernels) setBackend(loaded.kernels);
  const k = backend();
  rep.note(`backend: ${k.name}${loaded.addon ? ` (gemm kernel ${loaded.addon.kernelName()})` : ` — native addon unavailable: ${loaded.error}`}`);
  rep.note(`cpu: ${cpuModel()}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  reportCpuid(rep, loaded.addon);
  if (hasFlag(argv, '--profile')) return profileEngine(rep, models, threads, Number(flagValue(argv, '--steps') ?? 5));

  const torchPython = flagValue(argv, '--torch');
  if (!hasFlag(argv, '--no-gemm')) benchGemm(rep, threads, windowSec, Number(flagValue(argv, '--rounds') ?? 2), torchPython);

  if (hasFlag(argv, '--no-models')) return;
  // Rounds of (ours, then PyTorch): a ratio comes from one round, so load elsewhere that changes
  // between rounds does not bias it; the rows give each ratio's median and range over rounds.
  const rounds = Number(flagValue(argv, '--rounds') ?? 2);
  const useTorch = !hasFlag(argv, '--no-torch');
  const ratios = new Map<string, { train: number[]; infer: number[]; debianTrain: number[]; debianInfer: number[]; last?: string }>();
  const pool = syntheticPool(4096);
  for (let rnd = 0; rnd < rounds; rnd++) {
    const ours = new Map<string, { train: number; infer: number }>();
    for (const t of threads) {
      k.setThreads(t);
      for (const name of models) {
        const model = build(name);
        const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.01 });
        const losses: number[] = [];
        const train = timedWindows((i) => {
          const b = pool[i % pool.length]!;
          losses.push(trainStep(opt, () => bceWithLogits(model.forward(b), b.labels)));
        }, 4096, windows, windowSec);
        model.eval();
        const infer = timedWindows((i) => {
          const b = pool[i % pool.length]!;
          noGrad(() => sigmoid(model.forward(b)));
          endStep();
        }, 4096, windows, windowSec);
        if (t === 2) ours.set(name, { train: train.median, infer: infer.median });
        rep.row({ bench: 'train', round: rnd, model: name, threads: t, backend: k.name, samples_per_s: Math.round(train.median),
          min: Math.round(train.min), max: Math.round(train.max), loss_first5: round4(mean(losses.slice(0, 5))), loss_last5: round4(mean(losses.slice(-5))) });
        rep.row({ bench: 'infer', round: rnd, model: name, threads: t, backend: k.name, samples_per_s: Math.round(infer.median),
          min: Math.round(infer.min), max: Math.round(infer.max) });
      }
    }
    if (!useTorch) continue;
    // PyTorch 2.x (MKL / oneDNN) when --torch names its python, at its best 2-core setting
    // (--threads 2); Debian's torch 1.13 + OpenBLAS otherwise, or as a second column with --debian.
    const debian = (): Map<string, TorchRow> =>
      runTorch('/usr/bin/python3', ['--threads', '2', '--torch-threads', '1', '--blas-threads', '2'], models, windows, windowSec, rep);
    const torch = torchPython ? runTorch(torchPython, ['--threads', '2'], models, windows, windowSec, rep) : debian();
    const second = torchPython && hasFlag(argv, '--debian') ? debian() : new Map<string, TorchRow>();
    for (const [name, r] of torch) {
      const o = ours.get(name);
      if (!o) continue;
      const q = ratios.get(name) ?? { train: [], infer: [], debianTrain: [], debianInfer: [] };
      q.train.push(o.train / r.train_sps);
      q.infer.push(o.infer / r.infer_sps);
      // Each round's ratio at once, so a run cut short still leaves its rounds.
      rep.row({ bench: 'ratio_round', round: rnd, model: name, torch: r.torch, threads: 2, train_ratio: round(o.train / r.train_sps, 2),
        infer_ratio: round(o.infer / r.infer_sps, 2) });
      q.last = r.torch;
      const d = second.get(name);
      if (d) {
        q.debianTrain.push(o.train / d.train_sps);
        q.debianInfer.push(o.infer / d.infer_sps);
      }
      ratios.set(name, q);
    }
  }
  for (const [name, q] of ratios) {
    rep.row({ bench: 'ratio_vs_torch', model: name, torch: q.last ?? '', threads: 2, rounds: q.train.length,
      train_ratio: med(q.train), train_range: range(q.train), infer_ratio: med(q.infer), infer_range: range(q.infer),
      ...(q.debianTrain.length > 0 && { debian_train_ratio: med(q.debianTrain), debian_infer_ratio: med(q.debianInfer) }) });
  }
}

/**
 * CPUID's view (vendor, family/model, caches, FMA units) and the GEMM blocking derived from it:
 * a note for the reader and a `cpu` row, so every figure can be traced to its micro-architecture.
 */
function reportCpuid(rep: Reporter, addon: NativeAddon | null): void {
  const c = addon?.cpuInfo?.(), b = addon?.gemmBlocking?.();
  if (!c || !b) return;
  const kib = (n: number): number => Math.round(n / 1024);
  rep.note(`cpuid: ${c.vendor} family ${c.family} model ${c.model} stepping ${c.stepping} (${c.uarch}), ` +
    `L1d ${kib(c.cache.l1d)} KiB, L2 ${kib(c.cache.l2)} KiB, L3 ${kib(c.cache.l3)} KiB (≈ ${kib(c.cache.l3PerCore)} KiB per core; ${c.cache.source}), ` +
    `FMA: ${c.fmaDatapath}; gemm blocking: ${b.kernel} kc ${b.kc} mc ${b.mc} packA ${b.packA} packB ${b.packB} floats (${b.source})`);
  rep.row({ bench: 'cpu', vendor: c.vendor, family: c.family, model: c.model, stepping: c.stepping, uarch: c.uarch,
    l1d_kib: kib(c.cache.l1d), l2_kib: kib(c.cache.l2), l3_kib: kib(c.cache.l3), l3_per_core_kib: kib(c.cache.l3PerCore),
    fma512_units: c.fma512Units, gemm_kernel: b.kernel, kc: b.kc, mc: b.mc, pack_a: b.packA, pack_b: b.packB, blocking: b.source });
}

function med(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return round(s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, 2);
}

function range(a: number[]): string {
  return `${round(Math.min(...a), 2)}–${round(Math.max(...a), 2)}`;
}

function round4(v: number): number {
  return round(v, 4);
}

function mean(a: number[]): number {
  return a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN;
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

