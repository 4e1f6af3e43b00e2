/**
 * Backend selection. The native addon is used when it loads; the pure-TypeScript reference
 * backend otherwise, or when CTRKIT_BACKEND=reference. CTRKIT_BACKEND=native makes a missing
 * addon an error instead of a silent fallback.
 */
import type { Kernels } from './kernels.js';
import { referenceKernels } from './reference/index.js';
import { loadNativeKernels } from './native.js';

export type { Kernels, Activation, UnaryOp, BinaryOp } from './kernels.js';
export { dropoutUniform } from './kernels.js';
export { referenceKernels } from './reference/index.js';

let current: Kernels | null = null;

/** The native kernels, or null (with the load error) when the addon is unavailable. */
export function nativeKernels(): Kernels | null {
  return loadNativeKernels().kernels;
}

export function backend(): Kernels {
  if (current) return current;
  const want = process.env.CTRKIT_BACKEND;
  if (want === 'reference') {
    current = referenceKernels;
  } else {
    const loaded = loadNativeKernels();
    if (loaded.kernels) current = loaded.kernels;
    else if (want === 'native') throw new Error(`CTRKIT_BACKEND=native but the native addon failed to load: ${loaded.error}`);
    else current = referenceKernels;
  }
  return current;
}

/** Switch backend for the whole process (tests compare backends this way). */
export function setBackend(k: Kernels): void {
  current = k;
}
