/** Tolerance assertions for numeric arrays (float32 kernel outputs vs hand-derived values). */
import { AssertionError } from 'node:assert';

/** Asserts |actual[i] − expected[i]| ≤ atol + rtol·|expected[i]| for every i (and equal lengths). */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-6, rtol = 1e-5,
  label = 'value'): void {
  if (actual.length !== expected.length) {
    throw new AssertionError({ message: `${label}: length ${actual.length} != expected ${expected.length}` });
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Object.is(a, e)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new AssertionError({
        message: `${label}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})\n  actual:   [${Array.from(actual).join(', ')}]\n  expected: [${Array.from(expected).join(', ')}]`,
      });
    }
  }
}

/** Scalar form of assertClose. */
export function assertNear(actual: number, expected: number, atol = 1e-6, rtol = 1e-5, label = 'value'): void {
  assertClose([actual], [expected], atol, rtol, label);
}

export const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
export const i32 = (xs: number[]): Int32Array => Int32Array.from(xs);
