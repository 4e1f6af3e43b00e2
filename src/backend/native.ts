/**
 * Loads the C++ addon (build/Release/ctrkit_native.node) and adapts it to `Kernels`.
 * Argument order of every native function is exactly the `Kernels` method's.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kernels } from './kernels.js';

/** Raw addon exports beyond the Kernels methods. */
export interface NativeAddon {
  kernelName(): string;
  /** Measured fp32 FMA peak with the pool's threads, over about `seconds` (profiles divide by it). */
  fmaPeak?(seconds: number): { gflops: number; threads: number; width: number };
  /** OpenBLAS cblas_sgemm via dlopen, for benchmarks; absent functions mean no OpenBLAS. */
  blasAvailable?(): boolean;
  blasGemm?(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void;
  blasSetThreads?(n: number): void;
  [fn: string]: unknown;
}

let cache: { kernels: Kernels | null; addon: NativeAddon | null; error: string } | null = null;

function findAddon(): string | null {
  // dist/src/backend/native.js or src/backend/native.ts -> package root
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'build', 'Release', 'ctrkit_native.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}

export function loadNativeKernels(): { kernels: Kernels | null; addon: NativeAddon | null; error: string } {
  if (cache) return cache;
  const path = findAddon();
  if (!path) {
    cache = { kernels: null, addon: null, error: 'build/Release/ctrkit_native.node not found (run `npm run build:native`)' };
    return cache;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as NativeAddon;
    const kernels = Object.assign(Object.create(null) as object, addon, { name: 'native' as const }) as unknown as Kernels;
    cache = { kernels, addon, error: '' };
  } catch (e) {
    cache = { kernels: null, addon: null, error: (e as Error).message };
  }
  return cache;
}
