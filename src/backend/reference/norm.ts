/**
 * Layer norm (per row) and batch norm (per column, training mode). Statistics are computed
 * in float64 with a two-pass variance, which stays accurate when |mean| ≫ std.
 */
import { checkDim, checkLen } from './util.js';

function checkCommon(k: string, x: Float32Array, rows: number, d: number, gamma: Float32Array): void {
  checkDim(k, 'rows', rows); checkDim(k, 'd', d);
  checkLen(k, 'x', x, rows * d, `[rows=${rows}, d=${d}]`);
  checkLen(k, 'gamma', gamma, d, `[d=${d}]`);
}

export function layerNorm(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array,
  eps: number, out: Float32Array, mean: Float32Array, rstd: Float32Array): void {
  const k = 'layerNorm';
  checkCommon(k, x, rows, d, gamma);
  checkLen(k, 'beta', beta, d, `[d=${d}]`);
  checkLen(k, 'out', out, rows * d, `[rows=${rows}, d=${d}]`);
  checkLen(k, 'mean', mean, rows, `[rows=${rows}]`);
  checkLen(k, 'rstd', rstd, rows, `[rows=${rows}]`);
  if (d === 0) return;
  for (let r = 0; r < rows; r++) {
    const b = r * d;
    let s = 0;
    for (let c = 0; c < d; c++) s += x[b + c];
    const mu = s / d;
    let v = 0;
    for (let c = 0; c < d; c++) { const t = x[b + c] - mu; v += t * t; }
    const rs = 1 / Math.sqrt(v / d + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < d; c++) out[b + c] = (x[b + c] - mu) * rs * gamma[c] + beta[c];
  }
}

export function layerNormBackward(x: Float32Array, dy: Float32Array, rows: number, d: number, gamma: Float32Array,
  mean: Float32Array, rstd: Float32Array, dx: Float32Array | null, dgamma: Float32Array | null,
  dbeta: Float32Array | null): void {
  const k = 'layerNormBackward';
  checkCommon(k, x, rows, d, gamma);
  checkLen(k, 'dy', dy, rows * d, `[rows=${rows}, d=${d}]`);
  checkLen(k, 'mean', mean, rows, `[rows=${rows}]`);
  checkLen(k, 'rstd', rstd, rows, `[rows=${rows}]`);
  if (dx) checkLen(k, 'dx', dx, rows * d, `[rows=${rows}, d=${d}]`);
  if (dgamma) checkLen(k, 'dgamma', dgamma, d, `[d=${d}]`);
  if (dbeta) checkLen(k, 'dbeta', dbeta, d, `[d=${d}]`);
  if (d === 0) return;
  const gAcc = dgamma ? new Float64Array(d) : null;
  const bAcc = dbeta ? new Float64Array(d) : null;
  for (let r = 0; r < rows; r++) {
    const b = r * d, mu = mean[r], rs = rstd[r];
    // With x̂ = (x − μ)·rstd and g = dy ⊙ γ: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)).
    let sg = 0, sgx = 0;
    for (let c = 0; c < d; c++) {
      const xh = (x[b + c] - mu) * rs;
      const g = dy[b + c] * gamma[c];
      sg += g; sgx += g * xh;
      if (gAcc) gAcc[c] += dy[b + c] * xh;
      if (bAcc) bAcc[c] += dy[b + c];
    }
    if (dx) {
      const mg = sg / d, mgx = sgx / d;
      for (let c = 0; c < d; c++) {
        const xh = (x[b + c] - mu) * rs;
        dx[b + c] += rs * (dy[b + c] * gamma[c] - mg - xh * mgx);
      }
    }
  }
  if (dgamma && gAcc) for (let c = 0; c < d; c++) dgamma[c] += gAcc[c];
  if (dbeta && bAcc) for (let c = 0; c < d; c++) dbeta[c] += bAcc[c];
}

export function batchNormTrain(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array,
  eps: number, momentum: number, runMean: Float32Array, runVar: Float32Array, out: Float32Array,
  mean: Float32Array, rstd: Float32Array): void {
  const k = 'batchNormTrain';
  checkCommon(k, x, rows, d, gamma);
  checkLen(k, 'beta', beta, d, `[d=${d}]`);
  checkLen(k, 'runMean', runMean, d, `[d=${d}]`);
  checkLen(k, 'runVar', runVar, d, `[d=${d}]`);
  checkLen(k, 'out', out, rows * d, `[rows=${rows}, d=${d}]`);
  checkLen(k, 'mean', mean, d, `[d=${d}]`);
  checkLen(k, 'rstd', rstd, d, `[d=${d}]`);
  // As in PyTorch: the unbiased running variance needs at least 2 rows.
  if (rows < 2) throw new Error(`${k}: training needs more than 1 row per column, got rows=${rows} (d=${d})`);
  const mu = new Float64Array(d);
  const v = new Float64Array(d);
  for (let r = 0; r < rows; r++) for (let c = 0; c < d; c++) mu[c] += x[r * d + c];
  for (let c = 0; c < d; c++) mu[c] /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < d; c++) { const t = x[r * d + c] - mu[c]; v[c] += t * t; }
  }
  for (let c = 0; c < d; c++) {
    const biased = v[c] / rows;
    const unbiased = v[c] / (rows - 1);
    const rs = 1 / Math.sqrt(biased + eps);
    mean[c] = mu[c];
    rstd[c] = rs;
    runMean[c] = (1 - momentum) * runMean[c] + momentum * mu[c];
    runVar[c] = (1 - momentum) * runVar[c] + momentum * unbiased;
  }
  for (let r = 0; r < rows; r++) {
    const b = r * d;
    for (let c = 0; c < d; c++) out[b + c] = (x[b + c] - mu[c]) * rstd[c] * gamma[c] + beta[c];
  }
}

export function batchNormBackward(x: Float32Array, dy: Float32Array, rows: number, d: number, gamma: Float32Array,
  mean: Float32Array, rstd: Float32Array, dx: Float32Array | null, dgamma: Float32Array | null,
  dbeta: Float32Array | null): void {
  const k = 'batchNormBackward';
  checkCommon(k, x, rows, d, gamma);
  checkLen(k, 'dy', dy, rows * d, `[rows=${rows}, d=${d}]`);
  checkLen(k, 'mean', mean, d, `[d=${d}]`);
  checkLen(k, 'rstd', rstd, d, `[d=${d}]`);
  if (dx) checkLen(k, 'dx', dx, rows * d, `[rows=${rows}, d=${d}]`);
  if (dgamma) checkLen(k, 'dgamma', dgamma, d, `[d=${d}]`);
  if (dbeta) checkLen(k, 'dbeta', dbeta, d, `[d=${d}]`);
  if (rows === 0) return;
  const sdy = new Float64Array(d);
  const sdyx = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const b = r * d;
    for (let c = 0; c < d; c++) {
      const xh = (x[b + c] - mean[c]) * rstd[c];
      sdy[c] += dy[b + c];
      sdyx[c] += dy[b + c] * xh;
    }
  }
  if (dx) {
    // dx = γ·rstd/N · (N·dy − Σdy − x̂ · Σ(dy ⊙ x̂)), per column.
    for (let r = 0; r < rows; r++) {
      const b = r * d;
      for (let c = 0; c < d; c++) {
        const xh = (x[b + c] - mean[c]) * rstd[c];
        dx[b + c] += (gamma[c] * rstd[c] / rows) * (rows * dy[b + c] - sdy[c] - xh * sdyx[c]);
      }
    }
  }
  if (dgamma) for (let c = 0; c < d; c++) dgamma[c] += sdyx[c];
  if (dbeta) for (let c = 0; c < d; c++) dbeta[c] += sdy[c];
}
