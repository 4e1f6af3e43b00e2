/** Shared by the native-backend tests: the addon (or why it is missing), seeded inputs, and the kernel-path checks of the reduced-precision (int8, bf16) layers. */
import assert from 'node:assert/strict';
import { loadNativeKernels } from '../../src/backend/native.js';
import type { Activation, Kernels } from '../../src/backend/kernels.js';

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

/** A dense layer run through a reduced-precision kernel (int8, bf16) or a reference of it. */
export type LayerFn = (X: Float32Array, W: Float32Array, b: Float32Array | null, M: number, K: number, N: number, act: Activation) => Float32Array;

/**
 * A reduced-precision layer's kernel paths ('portable' and an ISA path, switched by the addon's
 * force function, 'auto' restoring the default) and the checks the int8 and bf16 layers share:
 * bit for bit against a reference on both paths, the fused sigmoid, and the same bits on both
 * paths with 1 and 2 threads.
 */
export class ReducedLayer {
  readonly paths: readonly string[];

  constructor(
    readonly run: LayerFn,
    /** Seeded inputs of an M×K×N layer. */
    readonly inputs: (M: number, K: number, N: number, seed: number) => { X: Float32Array; W: Float32Array; b: Float32Array },
    readonly force: (path: string) => boolean,
    readonly isa: string,
  ) {
    this.paths = ['portable', isa];
  }

  /** Whether the CPU has the ISA path (forcing it is refused otherwise). */
  hasIsa(): boolean {
    const ok = this.force(this.isa);
    this.force('auto');
    return ok;
  }

  /** Runs fn with each path forced in turn (the ISA path only where the CPU has it). */
  onEachPath(fn: (path: string) => void): void {
    onEachKernelPath(this.force, this.paths, fn);
  }

  /** On each path, every shape's layer (no bias with 'none', a bias with 'relu') equals `reference` bit for bit. */
  assertEqualsReference(reference: LayerFn): void {
    this.onEachPath((path) => {
      for (const [M, K, N] of REDUCED_SHAPES) {
        for (const act of ['none', 'relu'] as const) {
          const { X, W, b } = this.inputs(M, K, N, M + K * 3 + N);
          const got = this.run(X, W, act === 'relu' ? b : null, M, K, N, act);
          const want = reference(X, W, act === 'relu' ? b : null, M, K, N, act);
          assert.ok(bitsEqual(got, want), `${path} ${M}x${K}x${N} ${act}: ${got.slice(0, 4).join(',')} vs ${want.slice(0, 4).join(',')}`);
        }
      }
    });
  }

  /** A fused sigmoid is the elementwise sigmoid of the plain output. */
  assertFusedSigmoid(): void {
    const [M, K, N] = [9, 40, 33];
    const { X, W, b } = this.inputs(M, K, N, 3);
    const z = this.run(X, W, b, M, K, N, 'none');
    const s = new Float32Array(M * N);
    native().unary('sigmoid', z, s, M * N, 0);
    assert.ok(bitsEqual(this.run(X, W, b, M, K, N, 'sigmoid'), s));
  }

  /** Both paths and 1 and 2 threads give the same bits, for each activation of `acts`, on shapes from one row to rows over several thread chunks. */
  assertSameOnPathsAndThreads(acts: readonly Activation[]): void {
    for (const [M, K, N] of [[1, 624, 400], [6, 5, 3], [300, 624, 400], [1000, 77, 1], [97, 400, 65]] as const) {
      const { X, W, b } = this.inputs(M, K, N, M + N);
      assertSameOnPathsAndThreads(this.force, this.paths, () => acts.map((act) => this.run(X, W, b, M, K, N, act)), `${M}x${K}x${N}`);
    }
  }
}

/** Layer shapes over the kernels' row blocks and K and N tails. */
export const REDUCED_SHAPES: readonly [number, number, number][] = [[1, 1, 1], [5, 3, 15], [6, 4, 16], [7, 17, 17], [13, 33, 65], [49, 70, 130], [50, 624, 1]];
