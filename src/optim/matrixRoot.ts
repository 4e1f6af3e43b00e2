/**
 * Inverse p-th roots of symmetric positive semi-definite matrices in float64, for Shampoo's
 * preconditioners. Blocks are small (≤ a few hundred), so a cyclic Jacobi eigensolver is
 * accurate (it resolves small eigenvalues to high relative precision, which the −1/4 power
 * amplifies) and fast enough when run every `precondEvery` steps.
 */

export interface Eigen {
  /** Eigenvalues, unsorted. */
  values: Float64Array;
  /** Eigenvectors as columns of a row-major n×n matrix: A = V diag(values) Vᵀ. */
  vectors: Float64Array;
}

const MAX_SWEEPS = 60;

/** Symmetric eigendecomposition of the row-major n×n matrix `a` (only read; symmetrised). */
export function symmetricEigen(a: ArrayLike<number>, n: number): Eigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  const A = new Float64Array(n * n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      // Averaging both triangles keeps float32 GEMM asymmetries from biasing the rotations.
      const v = 0.5 * (a[i * n + j]! + a[j * n + i]!);
      if (!Number.isFinite(v)) throw new Error(`symmetricEigen: non-finite entry at (${i}, ${j})`);
      A[i * n + j] = v;
      total += v * v;
    }
  }
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  // Off-diagonal mass below this is at the level of float64 rounding of the whole matrix.
  const tol = total * 1e-30;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += A[i * n + j]! ** 2;
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (apq === 0) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        // Rotation angle φ zeroing a_pq: t = tan φ is the smaller root of t² + 2θt − 1 = 0.
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          if (k === p || k === q) continue;
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          const np = c * akp - s * akq;
          const nq = s * akp + c * akq;
          A[k * n + p] = np;
          A[p * n + k] = np;
          A[k * n + q] = nq;
          A[q * n + k] = nq;
        }
        A[p * n + p] = app - t * apq;
        A[q * n + q] = aqq + t * apq;
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i]!;
  return { values, vectors: V };
}

/**
 * (A + ε·λ_max·I)^(−1/p) for symmetric PSD A (row-major n×n), with negative eigenvalues from
 * rounding clipped to 0 first. Damping relative to λ_max makes the result independent of the
 * statistics' scale (which grows with the step count when β₂ = 1) and caps the condition
 * number at 1/ε. An all-zero A (no gradient seen yet) gives the identity.
 */
export function inverseRoot(a: ArrayLike<number>, n: number, p: number, eps: number): Float64Array {
  const { values, vectors: V } = symmetricEigen(a, n);
  let max = 0;
  for (const v of values) max = Math.max(max, v);
  const out = new Float64Array(n * n);
  if (max <= 0) {
    for (let i = 0; i < n; i++) out[i * n + i] = 1;
    return out;
  }
  const scale = new Float64Array(n);
  for (let k = 0; k < n; k++) scale[k] = Math.pow(Math.max(values[k]!, 0) + eps * max, -1 / p);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[i * n + k]! * scale[k]! * V[j * n + k]!;
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}
