/**
 * DIN's one-hidden-layer target attention (the contract is in ../kernels.ts), written directly
 * from the folded first layer, per row and per event, in float64.
 */
import type { Activation } from '../kernels.js';
import { activationDerivFn, activationFn } from './activation.js';
import { checkDim, checkLen, segmentRows } from './util.js';

interface Unit {
  S: number;
  /** A + C, B − C and D, [d, h] each, in float64. */
  AC: Float64Array;
  BC: Float64Array;
  D: Float64Array;
}

function unit(k: string, eb: Float32Array, et: Float32Array, offsets: Int32Array, W1: Float32Array, b1: Float32Array,
  w2: Float32Array, b2: Float32Array, d: number, h: number): Unit {
  checkDim(k, 'h', h);
  if (d < 1 || h < 1) throw new Error(`${k}: d and h must be at least 1`);
  segmentRows(k, 'eb', eb, d, offsets);
  const S = offsets.length - 1;
  checkLen(k, 'et', et, S * d, `[S=${S}, d=${d}]`);
  checkLen(k, 'W1', W1, 4 * d * h, `[4·d=${4 * d}, h=${h}]`);
  checkLen(k, 'b1', b1, h, `h=${h}`);
  checkLen(k, 'w2', w2, h, `h=${h}`);
  checkLen(k, 'b2', b2, 1, '1');
  const n = d * h;
  const AC = new Float64Array(n);
  const BC = new Float64Array(n);
  const D = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    AC[i] = W1[i] + W1[2 * n + i];
    BC[i] = W1[n + i] - W1[2 * n + i];
    D[i] = W1[3 * n + i];
  }
  return { S, AC, BC, D };
}

/** Row s's M = A + C + diag(e_t)·D [d, h] and c = e_t·(B − C) + b1 [h]. */
function rowWeights(u: Unit, et: Float32Array, s: number, b1: Float32Array, d: number, h: number, M: Float64Array, c: Float64Array): void {
  for (let j = 0; j < h; j++) c[j] = b1[j];
  for (let k = 0; k < d; k++) {
    const e = et[s * d + k];
    for (let j = 0; j < h; j++) {
      M[k * h + j] = u.AC[k * h + j] + e * u.D[k * h + j];
      c[j] += e * u.BC[k * h + j];
    }
  }
}

/** y[j] = act(e_b,p·M + c) and the score y·w2 + b2. */
function score(eb: Float32Array, p: number, M: Float64Array, c: Float64Array, w2: Float32Array, b2: number, d: number, h: number,
  act: (v: number) => number, y: Float64Array): number {
  let s = b2;
  for (let j = 0; j < h; j++) {
    let z = c[j];
    for (let k = 0; k < d; k++) z += eb[p * d + k] * M[k * h + j];
    y[j] = act(z);
    s += y[j] * w2[j];
  }
  return s;
}

export function targetAttention(eb: Float32Array, et: Float32Array, offsets: Int32Array, W1: Float32Array, b1: Float32Array,
  w2: Float32Array, b2: Float32Array, d: number, h: number, act: Activation, param: number, pooled: Float32Array): void {
  const k = 'targetAttention';
  const u = unit(k, eb, et, offsets, W1, b1, w2, b2, d, h);
  checkLen(k, 'pooled', pooled, u.S * d, `[S=${u.S}, d=${d}]`);
  const f = activationFn(act, param, k);
  const M = new Float64Array(d * h);
  const c = new Float64Array(h);
  const y = new Float64Array(h);
  const acc = new Float64Array(d);
  for (let s = 0; s < u.S; s++) {
    acc.fill(0);
    if (offsets[s + 1] > offsets[s]) rowWeights(u, et, s, b1, d, h, M, c);
    for (let p = offsets[s]; p < offsets[s + 1]; p++) {
      const a = score(eb, p, M, c, w2, b2[0], d, h, f, y);
      for (let kk = 0; kk < d; kk++) acc[kk] += a * eb[p * d + kk];
    }
    for (let kk = 0; kk < d; kk++) pooled[s * d + kk] = acc[kk];
  }
}

export function targetAttentionBackward(eb: Float32Array, et: Float32Array, offsets: Int32Array, W1: Float32Array, b1: Float32Array,
  w2: Float32Array, b2: Float32Array, d: number, h: number, act: Activation, param: number, dPooled: Float32Array,
  deb: Float32Array | null, det: Float32Array | null, dW1: Float32Array | null, db1: Float32Array | null,
  dw2: Float32Array | null, db2: Float32Array | null): void {
  const k = 'targetAttentionBackward';
  const u = unit(k, eb, et, offsets, W1, b1, w2, b2, d, h);
  const S = u.S;
  const P = offsets[S];
  checkLen(k, 'dPooled', dPooled, S * d, `[S=${S}, d=${d}]`);
  if (deb) checkLen(k, 'deb', deb, P * d, `[P=${P}, d=${d}]`);
  if (det) checkLen(k, 'det', det, S * d, `[S=${S}, d=${d}]`);
  if (dW1) checkLen(k, 'dW1', dW1, 4 * d * h, `[4·d=${4 * d}, h=${h}]`);
  if (db1) checkLen(k, 'db1', db1, h, `h=${h}`);
  if (dw2) checkLen(k, 'dw2', dw2, h, `h=${h}`);
  if (db2) checkLen(k, 'db2', db2, 1, '1');
  const f = activationFn(act, param, k);
  const fd = activationDerivFn(act, param, k);
  const n = d * h;
  const M = new Float64Array(n);
  const c = new Float64Array(h);
  const y = new Float64Array(h);
  const dz = new Float64Array(h);
  const dM = new Float64Array(n);
  const dc = new Float64Array(h);
  // Weight gradients over all rows: Σ dM, Σ diag(e_t)·dM, Σ e_tᵀ·dc, Σ dc, Σ ds·y, Σ ds.
  const gM = new Float64Array(n);
  const gD = new Float64Array(n);
  const gC = new Float64Array(n);
  const gb1 = new Float64Array(h);
  const gw2 = new Float64Array(h);
  let gb2 = 0;
  for (let s = 0; s < S; s++) {
    if (offsets[s + 1] === offsets[s]) continue;
    rowWeights(u, et, s, b1, d, h, M, c);
    dM.fill(0);
    dc.fill(0);
    for (let p = offsets[s]; p < offsets[s + 1]; p++) {
      const a = score(eb, p, M, c, w2, b2[0], d, h, f, y);
      // pooled = Σ a_p e_b,p: da = g·e_b,p and d e_b,p += a·g.
      let da = 0;
      for (let kk = 0; kk < d; kk++) da += dPooled[s * d + kk] * eb[p * d + kk];
      gb2 += da;
      for (let j = 0; j < h; j++) {
        gw2[j] += da * y[j];
        dz[j] = da * w2[j] * fd(y[j]);
        dc[j] += dz[j];
      }
      for (let kk = 0; kk < d; kk++) {
        const e = eb[p * d + kk];
        let g = a * dPooled[s * d + kk];
        for (let j = 0; j < h; j++) {
          dM[kk * h + j] += e * dz[j];
          g += dz[j] * M[kk * h + j];
        }
        if (deb) deb[p * d + kk] += g;
      }
    }
    for (let kk = 0; kk < d; kk++) {
      const e = et[s * d + kk];
      let g = 0;
      for (let j = 0; j < h; j++) {
        const i = kk * h + j;
        g += dc[j] * u.BC[i] + dM[i] * u.D[i];
        gM[i] += dM[i];
        gD[i] += e * dM[i];
        gC[i] += e * dc[j];
      }
      if (det) det[s * d + kk] += g;
    }
    for (let j = 0; j < h; j++) gb1[j] += dc[j];
  }
  if (dW1) {
    for (let i = 0; i < n; i++) {
      dW1[i] += gM[i];
      dW1[n + i] += gC[i];
      dW1[2 * n + i] += gM[i] - gC[i];
      dW1[3 * n + i] += gD[i];
    }
  }
  for (let j = 0; j < h; j++) {
    if (db1) db1[j] += gb1[j];
    if (dw2) dw2[j] += gw2[j];
  }
  if (db2) db2[0] += gb2;
}
