/**
 * Optimiser updates with PyTorch semantics (torch.optim.SGD / Adagrad / Adam / AdamW /
 * SparseAdam), so hyper-parameters tuned in PyTorch transfer unchanged. State is float32;
 * each element's update is computed in float64 and rounded once per stored value.
 */
import { checkDim, checkLen } from './util.js';

export function sgdStep(p: Float32Array, g: Float32Array, mom: Float32Array | null, n: number, lr: number,
  momentum: number, dampening: number, nesterov: boolean, weightDecay: number, firstStep: boolean): void {
  const k = 'sgdStep';
  checkDim(k, 'n', n);
  checkLen(k, 'p', p, n, `n=${n}`);
  checkLen(k, 'g', g, n, `n=${n}`);
  if (momentum !== 0 && !mom) throw new Error(`${k}: momentum=${momentum} needs a momentum buffer (n=${n})`);
  if (mom) checkLen(k, 'mom', mom, n, `n=${n}`);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new Error(`${k}: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum=${momentum}, dampening=${dampening}`);
  }
  for (let i = 0; i < n; i++) {
    let d = g[i];
    if (weightDecay !== 0) d += weightDecay * p[i];
    if (momentum !== 0 && mom) {
      // PyTorch: the first step initialises the buffer to d_p (no dampening applied).
      const buf = firstStep ? d : momentum * mom[i] + (1 - dampening) * d;
      mom[i] = buf;
      const b = mom[i];
      d = nesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
}

export function adagradStep(p: Float32Array, g: Float32Array, acc: Float32Array, n: number, lr: number, eps: number,
  weightDecay: number): void {
  const k = 'adagradStep';
  checkDim(k, 'n', n);
  checkLen(k, 'p', p, n, `n=${n}`);
  checkLen(k, 'g', g, n, `n=${n}`);
  checkLen(k, 'acc', acc, n, `n=${n}`);
  for (let i = 0; i < n; i++) {
    let gi = g[i];
    if (weightDecay !== 0) gi += weightDecay * p[i];
    acc[i] += gi * gi;
    p[i] -= (lr * gi) / (Math.sqrt(acc[i]) + eps);
  }
}

function checkStep(k: string, step: number): void {
  if (!Number.isSafeInteger(step) || step < 1) throw new Error(`${k}: step must be a 1-based integer, got ${step}`);
}

export function adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
  beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: boolean, step: number): void {
  const k = 'adamStep';
  checkDim(k, 'n', n);
  checkLen(k, 'p', p, n, `n=${n}`);
  checkLen(k, 'g', g, n, `n=${n}`);
  checkLen(k, 'm', m, n, `n=${n}`);
  checkLen(k, 'v', v, n, `n=${n}`);
  checkStep(k, step);
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  for (let i = 0; i < n; i++) {
    let gi = g[i];
    if (weightDecay !== 0) {
      if (decoupled) p[i] *= 1 - lr * weightDecay;
      else gi += weightDecay * p[i];
    }
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2sqrt + eps);
  }
}

function checkRows(k: string, rows: Int32Array, U: number, numRows: number): void {
  checkLen(k, 'rows', rows, U, `U=${U}`);
  for (let u = 0; u < U; u++) {
    const r = rows[u];
    if (r < 0 || r >= numRows) throw new Error(`${k}: row ${r} at position ${u} is outside [0, ${numRows})`);
  }
}

function tableRows(k: string, table: Float32Array, dim: number): number {
  checkDim(k, 'dim', dim);
  if (dim === 0) return 0;
  if (table.length % dim !== 0) throw new Error(`${k}: table length ${table.length} is not a multiple of dim=${dim}`);
  return table.length / dim;
}

export function sparseSgd(table: Float32Array, dim: number, rows: Int32Array, rowGrads: Float32Array, U: number, lr: number): void {
  const k = 'sparseSgd';
  const numRows = tableRows(k, table, dim);
  checkDim(k, 'U', U);
  checkRows(k, rows, U, numRows);
  checkLen(k, 'rowGrads', rowGrads, U * dim, `[U=${U}, dim=${dim}]`);
  for (let u = 0; u < U; u++) {
    const t = rows[u] * dim, s = u * dim;
    for (let c = 0; c < dim; c++) table[t + c] -= lr * rowGrads[s + c];
  }
}

export function sparseAdagrad(table: Float32Array, dim: number, acc: Float32Array, rows: Int32Array, rowGrads: Float32Array,
  U: number, lr: number, eps: number, rowwise: boolean): void {
  const k = 'sparseAdagrad';
  const numRows = tableRows(k, table, dim);
  checkDim(k, 'U', U);
  checkRows(k, rows, U, numRows);
  checkLen(k, 'rowGrads', rowGrads, U * dim, `[U=${U}, dim=${dim}]`);
  checkLen(k, 'acc', acc, rowwise ? numRows : numRows * dim, rowwise ? `[numRows=${numRows}]` : `[numRows=${numRows}, dim=${dim}]`);
  if (dim === 0) return;
  for (let u = 0; u < U; u++) {
    const r = rows[u], t = r * dim, s = u * dim;
    if (rowwise) {
      let sq = 0;
      for (let c = 0; c < dim; c++) { const gv = rowGrads[s + c]; sq += gv * gv; }
      acc[r] += sq / dim;
      const denom = Math.sqrt(acc[r]) + eps;
      for (let c = 0; c < dim; c++) table[t + c] -= (lr * rowGrads[s + c]) / denom;
    } else {
      for (let c = 0; c < dim; c++) {
        const gv = rowGrads[s + c];
        acc[t + c] += gv * gv;
        table[t + c] -= (lr * gv) / (Math.sqrt(acc[t + c]) + eps);
      }
    }
  }
}

export function sparseAdam(table: Float32Array, dim: number, m: Float32Array, v: Float32Array, rows: Int32Array,
  rowGrads: Float32Array, U: number, lr: number, beta1: number, beta2: number, eps: number, step: number): void {
  const k = 'sparseAdam';
  const numRows = tableRows(k, table, dim);
  checkDim(k, 'U', U);
  checkRows(k, rows, U, numRows);
  checkStep(k, step);
  checkLen(k, 'rowGrads', rowGrads, U * dim, `[U=${U}, dim=${dim}]`);
  checkLen(k, 'm', m, numRows * dim, `[numRows=${numRows}, dim=${dim}]`);
  checkLen(k, 'v', v, numRows * dim, `[numRows=${numRows}, dim=${dim}]`);
  // torch.optim.SparseAdam: eps is added to √v unscaled, and the bias corrections fold into
  // the step size lr·√bc2/bc1 (unlike dense Adam, which divides √v by √bc2 before adding eps).
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const stepSize = (lr * Math.sqrt(bc2)) / bc1;
  for (let u = 0; u < U; u++) {
    const t = rows[u] * dim, s = u * dim;
    for (let c = 0; c < dim; c++) {
      const gv = rowGrads[s + c];
      const i = t + c;
      m[i] += (gv - m[i]) * (1 - beta1);
      v[i] += (gv * gv - v[i]) * (1 - beta2);
      table[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) + eps);
    }
  }
}

