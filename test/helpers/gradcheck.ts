/**
 * Float64 finite-difference gradient checking, for kernel- and autograd-level tests.
 *
 * Usage:
 *   const f = ([x, w]: Float64Array[]) => ...scalar computed with float64 math...;
 *   assertGradcheck(f, [x, w], [dx, dw]);          // dx, dw: analytical gradients (any
 *                                                  // ArrayLike, e.g. Float32Array), or null
 *                                                  // to skip an input (labels, indices)
 *
 * The numerical gradient is the central difference (f(x+h) − f(x−h)) / 2h per element with
 * h = eps · max(1, |x|), so it is O(h²) accurate; in float64 with the default eps = 1e-6 it
 * agrees with an exact gradient to ~1e-8. When the analytical gradient comes from a float32
 * kernel, loosen rtol/atol to ~1e-3 instead of shrinking eps. Avoid points at kinks
 * (relu at 0, |x| at 0): the central difference averages the two one-sided slopes there.
 */
import { AssertionError } from 'node:assert';

/** A scalar function of several inputs. It must not modify its inputs. */
export type ScalarFn = (inputs: Float64Array[]) => number;

export interface GradcheckOptions {
  /** Relative step size (default 1e-6). */
  eps?: number;
  /** Element passes if |analytic − numeric| ≤ atol + rtol·|numeric| (defaults 1e-6, 1e-5). */
  atol?: number;
  rtol?: number;
}

export interface GradcheckMismatch {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Number of elements outside tolerance. */
  failures: number;
  /** Largest |analytic − numeric| over all checked elements. */
  maxAbsErr: number;
  /** The element with the largest excess over its tolerance (null when nothing was checked). */
  worst: GradcheckMismatch | null;
}

/** Copies any numeric array (e.g. a Float32Array kernel input) into a Float64Array. */
export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

/** Central-difference gradient of f at `inputs` (inputs are restored afterwards). */
export function numericGradient(f: ScalarFn, inputs: Float64Array[], eps = 1e-6): Float64Array[] {
  return inputs.map((x) => {
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      const h = eps * Math.max(1, Math.abs(x0));
      x[i] = x0 + h;
      const fp = f(inputs);
      x[i] = x0 - h;
      const fm = f(inputs);
      x[i] = x0;
      g[i] = (fp - fm) / (2 * h);
    }
    return g;
  });
}

/** Compares analytical gradients (null = skip that input) with central differences. */
export function gradcheck(f: ScalarFn, inputs: Float64Array[], analytic: (ArrayLike<number> | null)[],
  opts: GradcheckOptions = {}): GradcheckResult {
  if (analytic.length !== inputs.length) {
    throw new Error(`gradcheck: ${inputs.length} inputs but ${analytic.length} analytical gradients`);
  }
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5 } = opts;
  const numeric = numericGradient(f, inputs, eps);
  let failures = 0, maxAbsErr = 0, worstExcess = -Infinity;
  let worst: GradcheckMismatch | null = null;
  for (let t = 0; t < inputs.length; t++) {
    const a = analytic[t];
    if (a === null) continue;
    if (a.length !== inputs[t].length) {
      throw new Error(`gradcheck: input ${t} has ${inputs[t].length} elements but its gradient has ${a.length}`);
    }
    for (let i = 0; i < a.length; i++) {
      const an = a[i], nu = numeric[t][i];
      const err = Math.abs(an - nu);
      const excess = Number.isNaN(err) ? Infinity : err - (atol + rtol * Math.abs(nu));
      if (excess > 0) failures++;
      if (err > maxAbsErr) maxAbsErr = err;
      if (excess > worstExcess) { worstExcess = excess; worst = { input: t, index: i, analytic: an, numeric: nu }; }
    }
  }
  return { ok: failures === 0, failures, maxAbsErr, worst };
}

/** gradcheck that throws an AssertionError describing the worst element on failure. */
export function assertGradcheck(f: ScalarFn, inputs: Float64Array[], analytic: (ArrayLike<number> | null)[],
  opts: GradcheckOptions = {}, label = 'gradient'): void {
  const r = gradcheck(f, inputs, analytic, opts);
  if (!r.ok && r.worst) {
    const w = r.worst;
    throw new AssertionError({
      message: `${label}: ${r.failures} element(s) differ from central differences; worst at input ${w.input}[${w.index}]: ` +
        `analytic ${w.analytic}, numeric ${w.numeric} (max abs err ${r.maxAbsErr})`,
    });
  }
}
