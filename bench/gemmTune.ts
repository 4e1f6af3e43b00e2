/**
 * `npm run bench -- gemm-tune [--threads 1,2] [--rounds 3] [--window-sec 0.25] [--dry-run] [--json]`
 *
 * Times the bit-neutral GEMM choices — the micro-kernel tile of the default's ISA and MC — on the
 * engine's shapes, in interleaved rounds, and caches the winner in the addon's gemmTuneFile()
 * (~/.cache/ctrkit/gemm-<cpu signature>.json), which the addon reads at load on later runs
 * (CTRKIT_GEMM_TUNE=0 ignores it). KC is not tuned: it fixes the K-block rounding, and a timing
 * must never decide a model's bits. A candidate replaces the default only when its median score
 * (geometric mean GFLOP/s over shapes and thread counts) beats the default's by 3 %, the noise
 * of a shared machine, and it is faster in every round.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadNativeKernels, type GemmBlocking } from '../src/backend/native.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { GEMM_SHAPES, gflops } from './engine.js';
import { Reporter, cpuModel, flagValue, hasFlag } from './report.js';

const KERNELS = ['avx512-6x64', 'avx512-14x32', 'avx2-6x16', 'avx2-4x24', 'portable-4x8'];
const MARGIN = 1.03;

function median(v: number[]): number {
  return [...v].sort((x, y) => x - y)[(v.length - 1) >> 1]!;
}

/**
 * The candidate to cache, from per-round scores (scores[candidate][round], higher is better):
 * the best median among those that beat the default in every round (each round times every
 * candidate back to back) and by MARGIN in the median, so one quiet window cannot pick one;
 * else the default.
 */
export function pickCandidate(scores: number[][], def: number): number {
  const med = scores.map(median);
  const wins = (i: number): boolean => scores[i]!.every((v, r) => v > scores[def]![r]!) && med[i]! > med[def]! * MARGIN;
  let best = def;
  med.forEach((v, i) => { if (v > med[best]! && wins(i)) best = i; });
  return best;
}

export function gemmTuneBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const loaded = loadNativeKernels();
  const a = loaded.addon;
  if (!a?.setGemmBlocking || !a.gemmBlocking || !a.gemmTuneFile || !loaded.kernels) {
    throw new Error(`bench gemm-tune: the native addon is needed (${loaded.error || 'it lacks setGemmBlocking'})`);
  }
  const k = loaded.kernels;
  const threads = (flagValue(argv, '--threads') ?? '1,2').split(',').map(Number);
  const rounds = Number(flagValue(argv, '--rounds') ?? 3);
  const windowSec = Number(flagValue(argv, '--window-sec') ?? 0.25);
  const def0 = a.gemmBlocking(true);
  const start = a.setGemmBlocking({ kernel: def0.kernel, mc: def0.mc });
  const isa = start.kernel.slice(0, start.kernel.indexOf('-') + 1);
  const kernels = KERNELS.filter((n) => n.startsWith(isa));
  const mcs = [...new Set([start.mc, 60, 120, 240])];
  const cands: Pick<GemmBlocking, 'kernel' | 'mc'>[] = kernels.flatMap((kernel) => mcs.map((mc) => ({ kernel, mc })));
  rep.note(`cpu: ${cpuModel()}; default ${start.kernel} mc ${start.mc} kc ${start.kc} (${def0.source}); ${cands.length} candidates`);
  // One shape per distinct (layout, size) class of the engine's GEMMs keeps a run near a minute.
  const shapes = GEMM_SHAPES.filter((_, i) => [0, 2, 4, 6, 8].includes(i));
  const data = shapes.map((s) => ({
    A: new Float32Array(s.M * s.K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5),
    B: new Float32Array(s.K * s.N).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5),
    C: new Float32Array(s.M * s.N),
  }));
  const scores = cands.map((): number[] => []);
  const before = k.getThreads();
  try {
    for (let r = 0; r < rounds; r++) {
      cands.forEach((c, ci) => {
        a.setGemmBlocking!(c);
        let logSum = 0, n = 0;
        for (const t of threads) {
          k.setThreads(t);
          shapes.forEach((s, si) => {
            const { A, B, C } = data[si]!;
            logSum += Math.log(gflops(() => k.gemm(s.ta, s.tb, s.M, s.N, s.K, 1, A, B, 0, C), 2 * s.M * s.N * s.K, windowSec));
            n++;
          });
        }
        scores[ci]!.push(Math.exp(logSum / n));
      });
    }
  } finally {
    k.setThreads(before);
    a.setGemmBlocking(null);
  }
  const med = scores.map(median);
  cands.forEach((c, ci) => rep.row({ bench: 'gemm_tune', kernel: c.kernel, mc: c.mc, kc: start.kc, threads: threads.join(','),
    gflops_geomean: Math.round(med[ci]! * 10) / 10, rounds: scores[ci]!.map((v) => Math.round(v)).join('/') }));
  const def = cands.findIndex((c) => c.kernel === start.kernel && c.mc === start.mc);
  const best = pickCandidate(scores, def);
  const pick = cands[best]!;
  const file = a.gemmTuneFile();
  const write = !hasFlag(argv, '--dry-run') && file !== '' && rounds >= 3;
  rep.row({ bench: 'gemm_tune_choice', kernel: pick.kernel, mc: pick.mc, gain_vs_default: Math.round((med[best]! / med[def]!) * 1000) / 1000,
    file: write ? file : null });
  if (hasFlag(argv, '--dry-run') || !file) return;
  if (rounds < 3) {
    rep.note(`not cached: ${rounds} round(s) cannot tell a faster candidate from a quiet window (--rounds 3 or more)`);
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify({ kernel: pick.kernel, mc: pick.mc, kc: start.kc, cpu: cpuModel(),
    gflops_geomean: Math.round(med[best]! * 10) / 10, default_gflops_geomean: Math.round(med[def]! * 10) / 10,
    tuned_at: new Date().toISOString() }) + '\n');
  rep.note(`wrote ${file}; later runs use ${pick.kernel} mc ${pick.mc} (CTRKIT_GEMM_TUNE=0 ignores it)`);
}
