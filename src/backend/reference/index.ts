import type { Kernels } from '../kernels.js';

/** Pure-TypeScript kernels: the oracle for tests and the fallback without the addon. */
export const referenceKernels = {} as Kernels; // filled in by the reference backend work
