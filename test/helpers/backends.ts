/** The backends a test should run on: always the reference, plus the native addon when built. */
import { referenceKernels, setBackend, type Kernels } from '../../src/backend/index.js';
import { loadNativeKernels } from '../../src/backend/native.js';

export function testBackends(): Kernels[] {
  const native = loadNativeKernels().kernels;
  if (!native) process.stderr.write(`# native addon not built, testing the reference backend only: ${loadNativeKernels().error}\n`);
  return native ? [referenceKernels, native] : [referenceKernels];
}

/** Runs fn with the given backend selected, restoring the previous one after. */
export function withBackend<T>(k: Kernels, fn: () => T): T {
  setBackend(k);
  try {
    return fn();
  } finally {
    setBackend(referenceKernels);
  }
}
