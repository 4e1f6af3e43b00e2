/**
 * Per-op profile of training and inference steps (`npm run bench -- engine --profile`): every
 * kernel call goes through a timing wrapper around the backend, so each op's time, and for the
 * GEMM-bound ones their GFLOP/s and share of the machine's measured FMA peak, for the others
 * their bytes/s, come from the steps as they run; what the kernels do not account for is the
 * TypeScript around them (tape, arena, module code).
 */
import type { Kernels } from '../src/backend/kernels.js';

export interface OpStat {
  op: string;
  shape: string;
  calls: number;
  ms: number;
  /** Multiply-adds × 2 (GEMM-bound ops only; 0 elsewhere). */
  flops: number;
  /** Bytes the op reads and writes: its arrays, tables counted by the rows it touches. */
  bytes: number;
}

type Args = unknown[];
interface Cost { shape: string; flops: number; bytes: number }

const f32 = (x: unknown): number => (ArrayBuffer.isView(x) ? (x as Float32Array).byteLength : 0);
const num = (x: unknown): number => x as number;
const tr = (t: unknown): string => (t ? 'ᵀ' : '');

/**
 * Shapes and costs of the ops that dominate CTR steps; any other op is described by the arrays
 * it is given (all of them read or written once).
 */
const COSTS: Record<string, (a: Args) => Cost> = {
  gemm: (a) => {
    const [ta, tb, M, N, K] = [a[0], a[1], num(a[2]), num(a[3]), num(a[4])];
    return { shape: `${M}x${K}${tr(ta)} · ${K}x${N}${tr(tb)}`, flops: 2 * M * N * K, bytes: f32(a[6]) + f32(a[7]) + 2 * f32(a[9]) };
  },
  linearForward: (a) => {
    const [M, K, N] = [num(a[4]), num(a[5]), num(a[6])];
    return { shape: `${M}x${K} → ${N} ${a[7]}`, flops: 2 * M * K * N, bytes: f32(a[0]) + f32(a[1]) + f32(a[3]) };
  },
  linearBackward: (a) => {
    const [M, K, N] = [num(a[8]), num(a[9]), num(a[10])];
    const gemms = (a[5] ? 1 : 0) + (a[6] ? 1 : 0);
    return { shape: `${M}x${K} → ${N} ${a[11]}${a[5] ? '' : ' (no dX)'}`, flops: 2 * M * K * N * gemms,
      bytes: f32(a[0]) + f32(a[1]) + f32(a[2]) + f32(a[3]) + f32(a[4]) + 2 * f32(a[5]) + 2 * f32(a[6]) };
  },
  // crossForward(A, W, b, x0, x, out, z, M, K, D)
  crossForward: (a) => {
    const [M, K, D] = [num(a[7]), num(a[8]), num(a[9])];
    return { shape: `${M}x${K} · ${K}x${D}${a[6] ? ' (z kept)' : ''}`, flops: 2 * M * K * D,
      bytes: [0, 1, 3, 4, 5, 6].reduce((s, i) => s + f32(a[i]), 0) };
  },
  // crossBackward(A, W, z, x0, dOut, dZ, dA, dW, db, dx0, dx, M, K, D)
  crossBackward: (a) => {
    const [M, K, D] = [num(a[11]), num(a[12]), num(a[13])];
    return { shape: `${M}x${K} · ${K}x${D}`, flops: 2 * M * K * D * ((a[6] ? 1 : 0) + (a[7] ? 1 : 0)),
      bytes: a.slice(0, 11).reduce<number>((s, x) => s + f32(x), 0) };
  },
  // Tables: the rows gathered (ids × dim), not the whole table.
  embeddingLookup: (a) => ({ shape: `${a[4]} ids × ${a[2]}`, flops: 0, bytes: f32(a[3]) + 2 * f32(a[5]) }),
  embeddingBackward: (a) => ({ shape: `${a[1]} ids × ${a[3]}`, flops: 0, bytes: f32(a[0]) + 2 * f32(a[2]) }),
  // Row counts vary per batch: the shape names the width only, so the calls add up.
  sparseAdagrad: (a) => {
    const U = num(a[5]), dim = num(a[1]);
    return { shape: `touched rows × ${dim}`, flops: 0, bytes: 4 * U * dim * (3 + (a[8] ? 0 : 2)) + 4 * U * (a[8] ? 2 : 0) + 4 * U };
  },
  copy2d: (a) => {
    const [rows, cols] = [num(a[6]), num(a[7])];
    return { shape: `${rows}x${cols}${a[8] ? ' +=' : ''}`, flops: 0, bytes: 4 * rows * cols * (a[8] ? 3 : 2) };
  },
};

function genericCost(a: Args): Cost {
  let bytes = 0;
  let n = 0;
  for (const x of a) if (ArrayBuffer.isView(x)) { bytes += x.byteLength; n = Math.max(n, (x as Float32Array).length); }
  return { shape: `n=${n}`, flops: 0, bytes };
}

/** A Kernels whose every call is timed into `stats` (keyed by op and shape) until `take()`. */
export function profiledKernels(inner: Kernels): { kernels: Kernels; take(): OpStat[] } {
  let stats = new Map<string, OpStat>();
  const wrapped = new Map<string, unknown>();
  const kernels = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'setThreads' || prop === 'getThreads') return v;
      let w = wrapped.get(prop);
      if (!w) {
        const fn = v as (...a: Args) => unknown;
        const cost = COSTS[prop] ?? genericCost;
        w = (...args: Args): unknown => {
          const t0 = performance.now();
          const r = fn.apply(target, args);
          const ms = performance.now() - t0;
          const c = cost(args);
          const key = `${prop} ${c.shape}`;
          const s = stats.get(key) ?? { op: prop, shape: c.shape, calls: 0, ms: 0, flops: 0, bytes: 0 };
          s.calls++;
          s.ms += ms;
          s.flops += c.flops;
          s.bytes += c.bytes;
          stats.set(key, s);
          return r;
        };
        wrapped.set(prop, w);
      }
      return w;
    },
  });
  return {
    kernels,
    take(): OpStat[] {
      const out = [...stats.values()];
      stats = new Map();
      return out;
    },
  };
}

/** Table rows of one phase's profile: per step, ops by time, then what no kernel accounts for. */
export function profileRows(stats: OpStat[], steps: number, stepMs: number, peakGflops: number): Record<string, string | number>[] {
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const kernelMs = stats.reduce((s, o) => s + o.ms, 0) / steps;
  const rows = stats.sort((a, b) => b.ms - a.ms).map((o) => {
    const row: Record<string, string | number> = { op: o.op, shape: o.shape, calls_per_step: r1(o.calls / steps),
      ms_per_step: Math.round((o.ms / steps) * 100) / 100, share_pct: r1((100 * o.ms) / steps / stepMs) };
    if (o.flops > 0) {
      const g = o.flops / o.ms / 1e6;
      row.gflops = r1(g);
      row.pct_of_peak = r1((100 * g) / peakGflops);
    } else {
      row.gb_per_s = r1(o.bytes / o.ms / 1e6);
    }
    return row;
  });
  rows.push({ op: '(outside kernels: TypeScript, tape, arena)', shape: '', calls_per_step: 0,
    ms_per_step: Math.round((stepMs - kernelMs) * 100) / 100, share_pct: r1((100 * (stepMs - kernelMs)) / stepMs) });
  return rows;
}
