/**
 * The native addon as the reduced-precision (int8, bf16) inference kernels see it. They have no
 * TypeScript twin: reduced precision is an opt-in speed path, so without the native backend it
 * is refused rather than emulated slowly.
 */
import { backend } from './index.js';
import { loadNativeKernels } from './native.js';

/** The addon as `T`, or an error saying why `precision` scoring is unavailable (`probe`: a function it must export). */
export function reducedPrecisionAddon<T>(precision: string, probe: string): T {
  if (backend().name !== 'native') {
    throw new Error(`${precision} precision needs the native backend (CTRKIT_BACKEND selects the reference kernels, or the addon did not load)`);
  }
  const { addon } = loadNativeKernels();
  if (!addon || typeof (addon as Record<string, unknown>)[probe] !== 'function') {
    throw new Error(`${precision} precision: the native addon has no ${precision} kernels (rebuild it: npm run build:native)`);
  }
  return addon as unknown as T;
}
