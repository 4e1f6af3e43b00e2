/** Shared by the native-backend tests: the addon (or why it is missing) and seeded inputs. */
import { loadNativeKernels } from '../../src/backend/native.js';
import type { Kernels } from '../../src/backend/kernels.js';

const loaded = loadNativeKernels();
export const N: Kernels | null = loaded.kernels;
/** `skip` option for node:test: false when the addon loaded, else the reason. */
export const skip: string | false = N ? false : `native addon not available: ${loaded.error}`;

export function native(): Kernels {
  if (!N) throw new Error('unreachable: test should have been skipped');
  return N;
}

/** Deterministic uniform [0,1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randF32(r: () => number, n: number, lo = -2, hi = 2): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export function randI32(r: () => number, n: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(r() * hi));
}

/** Offsets of `S` segments with random sizes in [0, maxLen] (empty segments included). */
export function randOffsets(r: () => number, S: number, maxLen: number): Int32Array {
  const o = new Int32Array(S + 1);
  for (let s = 0; s < S; s++) o[s + 1] = o[s] + Math.floor(r() * (maxLen + 1));
  return o;
}

export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/**
 * Asserts that `run` gives the same bits on every forced kernel path (`force(path)`, then
 * `force('auto')`) with 1 and 2 threads: what the reduced-precision layers promise.
 */
export function assertSameOnPathsAndThreads(force: (path: string) => boolean, paths: readonly string[], run: () => Float32Array[], what: string): void {
  const T0 = native().getThreads();
  const runs: Float32Array[][] = [];
  for (const path of paths) {
    for (const threads of [1, 2]) {
      if (!force(path)) throw new Error(`kernel path ${path} refused`);
      native().setThreads(threads);
      try {
        runs.push(run());
      } finally {
        force('auto');
        native().setThreads(T0);
      }
    }
  }
  for (let r = 1; r < runs.length; r++) {
    runs[r]!.forEach((y, i) => {
      if (!bitsEqual(y, runs[0]![i]!)) throw new Error(`${what}: output ${i} of run ${r} (${paths[r >> 1]}, ${(r & 1) + 1} threads) differs from run 0`);
    });
  }
}

/** Runs fn with each kernel path forced in turn (skipping one the CPU lacks: force returns false), then restores 'auto'. */
export function onEachKernelPath<P extends string>(force: (path: string) => boolean, paths: readonly P[], fn: (path: P) => void): void {
  for (const path of paths) {
    if (!force(path)) continue;
    try {
      fn(path);
    } finally {
      force('auto');
    }
  }
}
