/** The backends a test should run on: always the reference, plus the native addon when built. */
import { it } from 'node:test';
import { referenceKernels, setBackend, type Kernels } from '../../src/backend/index.js';
import { loadNativeKernels } from '../../src/backend/native.js';
import { endStep } from '../../src/autograd/tape.js';

export function testBackends(): Kernels[] {
  const native = loadNativeKernels().kernels;
  if (!native) process.stderr.write(`# native addon not built, testing the reference backend only: ${loadNativeKernels().error}\n`);
  return native ? [referenceKernels, native] : [referenceKernels];
}

/**
 * Runs fn with the given backend selected, restoring the reference one after; an async fn keeps
 * the backend until its promise settles (restoring at its first await would run the rest of it on
 * the reference backend).
 */
export function withBackend<T>(k: Kernels, fn: () => T): T {
  setBackend(k);
  let r: T;
  try {
    r = fn();
  } catch (e) {
    setBackend(referenceKernels);
    throw e;
  }
  if (r instanceof Promise) return r.finally(() => setBackend(referenceKernels)) as T;
  setBackend(referenceKernels);
  return r;
}

/**
 * `it` on backend k that ends the autograd step afterwards, even when the test fails, so that a
 * failing test does not leave its tape to the next one.
 */
export function stepTest(k: Kernels): (name: string, fn: () => void) => void {
  return (name, fn) => {
    it(name, () => withBackend(k, () => {
      try {
        fn();
      } finally {
        endStep();
      }
    }));
  };
}
