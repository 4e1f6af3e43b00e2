/**
 * The guard that keeps a diverged model off disk: a NaN or infinite weight would make every
 * prediction (or a resumed run) silently wrong, and would overwrite a good previous file.
 */
export class NonFiniteWeightsError extends Error {
  override readonly name = 'NonFiniteWeightsError';
}

/** Throws naming the first non-finite value's tensor and index. */
export function assertFinite(tensors: Iterable<readonly [string, Float32Array]>, what: string): void {
  for (const [name, a] of tensors) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      // v - v is NaN exactly for NaN and ±Infinity, and cheaper than Number.isFinite in the hot loop.
      if (v - v !== 0) {
        throw new NonFiniteWeightsError(`${what}: tensor '${name}' has a non-finite value (${v}) at index ${i}; refusing to write it`);
      }
    }
  }
}
