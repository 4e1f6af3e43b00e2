/**
 * Dense linear algebra: gemm and the fused linear layer. Accumulation runs in float64 row
 * buffers so the reference is more accurate than any float32 backend it is compared with.
 */
import type { Activation } from '../kernels.js';
import { checkDim, checkLen } from './util.js';
import { activationDerivFn, activationFn } from './activation.js';

export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void {
  const k = 'gemm';
  checkDim(k, 'M', M); checkDim(k, 'N', N); checkDim(k, 'K', K);
  checkLen(k, 'A', A, M * K, transA ? `[K=${K}, M=${M}]` : `[M=${M}, K=${K}]`);
  checkLen(k, 'B', B, K * N, transB ? `[N=${N}, K=${K}]` : `[K=${K}, N=${N}]`);
  checkLen(k, 'C', C, M * N, `[M=${M}, N=${N}]`);
  if (M === 0 || N === 0) return;
  if (alpha === 0) {
    // BLAS convention: alpha = 0 does not read A or B, so NaN there does not leak into C.
    for (let i = 0; i < M * N; i++) C[i] = beta === 0 ? 0 : beta * C[i];
    return;
  }
  const acc = new Float64Array(N);
  // transA+transB: column i of the stored A is strided; gather it once per row of C.
  const aCol = transA && transB ? new Float64Array(K) : null;
  for (let i = 0; i < M; i++) {
    const cRow = i * N;
    if (!transB) {
      // i-k-j: the inner loop streams rows of B and the accumulator contiguously.
      acc.fill(0);
      for (let kk = 0; kk < K; kk++) {
        // No skip of a == 0: 0 · Inf must still give NaN in an oracle.
        const a = transA ? A[kk * M + i] : A[i * K + kk];
        const bRow = kk * N;
        for (let j = 0; j < N; j++) acc[j] += a * B[bRow + j];
      }
    } else {
      // Bᵀ: row j of the stored B is column j of op(B), so a dot product is contiguous.
      let aRow: Float32Array | Float64Array = A;
      let aOff = i * K;
      if (aCol) {
        for (let kk = 0; kk < K; kk++) aCol[kk] = A[kk * M + i];
        aRow = aCol;
        aOff = 0;
      }
      for (let j = 0; j < N; j++) {
        const bRow = j * K;
        let s = 0;
        for (let kk = 0; kk < K; kk++) s += aRow[aOff + kk] * B[bRow + kk];
        acc[j] = s;
      }
    }
    if (beta === 0) {
      for (let j = 0; j < N; j++) C[cRow + j] = alpha * acc[j];
    } else {
      for (let j = 0; j < N; j++) C[cRow + j] = alpha * acc[j] + beta * C[cRow + j];
    }
  }
}

export function linearForward(X: Float32Array, W: Float32Array, b: Float32Array | null, Y: Float32Array,
  M: number, K: number, N: number, act: Activation, param: number): void {
  const k = 'linearForward';
  checkDim(k, 'M', M); checkDim(k, 'K', K); checkDim(k, 'N', N);
  checkLen(k, 'X', X, M * K, `[M=${M}, K=${K}]`);
  checkLen(k, 'W', W, K * N, `[K=${K}, N=${N}]`);
  checkLen(k, 'Y', Y, M * N, `[M=${M}, N=${N}]`);
  if (b) checkLen(k, 'b', b, N, `[N=${N}]`);
  const f = activationFn(act, param, k);
  const acc = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    if (b) for (let j = 0; j < N; j++) acc[j] = b[j];
    else acc.fill(0);
    const xRow = i * K;
    for (let kk = 0; kk < K; kk++) {
      const a = X[xRow + kk];
      const wRow = kk * N;
      for (let j = 0; j < N; j++) acc[j] += a * W[wRow + j];
    }
    const yRow = i * N;
    for (let j = 0; j < N; j++) Y[yRow + j] = f(acc[j]);
  }
}

export function linearBackward(X: Float32Array, W: Float32Array, Y: Float32Array, dY: Float32Array,
  dZ: Float32Array, dX: Float32Array | null, dW: Float32Array | null, db: Float32Array | null,
  M: number, K: number, N: number, act: Activation, param: number, overwrite = 0): void {
  const k = 'linearBackward';
  checkDim(k, 'M', M); checkDim(k, 'K', K); checkDim(k, 'N', N);
  checkLen(k, 'X', X, M * K, `[M=${M}, K=${K}]`);
  checkLen(k, 'W', W, K * N, `[K=${K}, N=${N}]`);
  checkLen(k, 'Y', Y, M * N, `[M=${M}, N=${N}]`);
  checkLen(k, 'dY', dY, M * N, `[M=${M}, N=${N}]`);
  checkLen(k, 'dZ', dZ, M * N, `[M=${M}, N=${N}]`);
  if (dX) checkLen(k, 'dX', dX, M * K, `[M=${M}, K=${K}]`);
  if (dW) checkLen(k, 'dW', dW, K * N, `[K=${K}, N=${N}]`);
  if (db) checkLen(k, 'db', db, N, `[N=${N}]`);
  if (!Number.isInteger(overwrite) || overwrite < 0 || overwrite > 7) throw new Error(`${k}: overwrite must be a bit mask of 1 (dX), 2 (dW), 4 (db), got ${overwrite}`);
  const d = activationDerivFn(act, param, k);
  const MN = M * N;
  for (let i = 0; i < MN; i++) dZ[i] = dY[i] * d(Y[i]);
  // An overwritten output is set, never read (beta 0 does not read C).
  if (dX) gemm(false, true, M, K, N, 1, dZ, W, overwrite & 1 ? 0 : 1, dX);
  if (dW) gemm(true, false, K, N, M, 1, X, dZ, overwrite & 2 ? 0 : 1, dW);
  if (db) {
    const acc = new Float64Array(N);
    for (let i = 0; i < M; i++) {
      const row = i * N;
      for (let j = 0; j < N; j++) acc[j] += dZ[row + j];
    }
    for (let j = 0; j < N; j++) db[j] = (overwrite & 4 ? 0 : db[j]!) + acc[j]!;
  }
}

export function crossForward(A: Float32Array, W: Float32Array, b: Float32Array | null, x0: Float32Array, x: Float32Array,
  out: Float32Array, z: Float32Array | null, M: number, K: number, D: number): void {
  const k = 'crossForward';
  checkLen(k, 'x0', x0, M * D, `[M=${M}, D=${D}]`);
  checkLen(k, 'x', x, M * D, `[M=${M}, D=${D}]`);
  if (z) checkLen(k, 'z', z, M * D, `[M=${M}, D=${D}]`);
  const zz = z ?? out;
  linearForward(A, W, b, zz, M, K, D, 'none', 0);
  // Float32Array stores round each step as the unfused mul and add do.
  for (let i = 0; i < M * D; i++) out[i] = Math.fround(x0[i]! * zz[i]!) + x[i]!;
}

export function crossBackward(A: Float32Array, W: Float32Array, z: Float32Array, x0: Float32Array, dOut: Float32Array,
  dZ: Float32Array, dA: Float32Array | null, dW: Float32Array | null, db: Float32Array | null,
  dx0: Float32Array | null, dx: Float32Array | null, M: number, K: number, D: number): void {
  const k = 'crossBackward';
  const n = M * D;
  for (const [name, t] of [['z', z], ['x0', x0], ['dOut', dOut], ['dZ', dZ], ['dx0', dx0], ['dx', dx]] as const) {
    if (t) checkLen(k, name, t, n, `[M=${M}, D=${D}]`);
  }
  for (let i = 0; i < n; i++) {
    const g = dOut[i]!;
    if (dx) dx[i] += g;
    if (dx0) dx0[i] += g * z[i]!;
    dZ[i] = g * x0[i]!;
  }
  linearBackward(A, W, z, dZ, dZ, dA, dW, db, M, K, D, 'none', 0);
}
