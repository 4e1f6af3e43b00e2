/**
 * Softmax / log-softmax along the middle axis of an [outer, len, inner] view, and the
 * per-segment variant (a segment is a [rows, d] block with len = rows, inner = d).
 */
import { checkDim, checkLen, segmentRows } from './util.js';

/** Softmax of the block starting at `base` with `len` steps of stride `inner`, one column. */
function softmaxColumn(x: Float32Array, out: Float32Array, base: number, len: number, inner: number, log: boolean): void {
  if (len === 0) return;
  let mx = -Infinity;
  for (let a = 0, p = base; a < len; a++, p += inner) if (x[p] > mx) mx = x[p];
  let s = 0;
  for (let a = 0, p = base; a < len; a++, p += inner) s += Math.exp(x[p] - mx);
  if (log) {
    const lse = Math.log(s);
    for (let a = 0, p = base; a < len; a++, p += inner) out[p] = x[p] - mx - lse;
  } else {
    const inv = 1 / s;
    for (let a = 0, p = base; a < len; a++, p += inner) out[p] = Math.exp(x[p] - mx) * inv;
  }
}

function softmaxBackwardColumn(y: Float32Array, dy: Float32Array, dx: Float32Array, base: number, len: number,
  inner: number, log: boolean): void {
  if (len === 0) return;
  if (log) {
    // y = log p: dx = dy − p · Σ dy.
    let s = 0;
    for (let a = 0, p = base; a < len; a++, p += inner) s += dy[p];
    for (let a = 0, p = base; a < len; a++, p += inner) dx[p] += dy[p] - Math.exp(y[p]) * s;
  } else {
    // dx = y ⊙ (dy − Σ dy ⊙ y).
    let s = 0;
    for (let a = 0, p = base; a < len; a++, p += inner) s += dy[p] * y[p];
    for (let a = 0, p = base; a < len; a++, p += inner) dx[p] += y[p] * (dy[p] - s);
  }
}

function checkView(k: string, outer: number, len: number, inner: number): number {
  checkDim(k, 'outer', outer); checkDim(k, 'len', len); checkDim(k, 'inner', inner);
  return outer * len * inner;
}

export function softmax(x: Float32Array, outer: number, len: number, inner: number, out: Float32Array, log: boolean): void {
  const k = 'softmax';
  const n = checkView(k, outer, len, inner);
  const what = `[outer=${outer}, len=${len}, inner=${inner}]`;
  checkLen(k, 'x', x, n, what);
  checkLen(k, 'out', out, n, what);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) softmaxColumn(x, out, o * len * inner + i, len, inner, log);
  }
}

export function softmaxBackward(y: Float32Array, dy: Float32Array, outer: number, len: number, inner: number,
  dx: Float32Array, log: boolean): void {
  const k = 'softmaxBackward';
  const n = checkView(k, outer, len, inner);
  const what = `[outer=${outer}, len=${len}, inner=${inner}]`;
  checkLen(k, 'y', y, n, what);
  checkLen(k, 'dy', dy, n, what);
  checkLen(k, 'dx', dx, n, what);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) softmaxBackwardColumn(y, dy, dx, o * len * inner + i, len, inner, log);
  }
}

export function segmentSoftmax(x: Float32Array, d: number, offsets: Int32Array, out: Float32Array, log: boolean): void {
  const k = 'segmentSoftmax';
  const rows = segmentRows(k, 'x', x, d, offsets);
  checkLen(k, 'out', out, rows * d, `[rows=${rows}, d=${d}]`);
  const S = offsets.length - 1;
  for (let s = 0; s < S; s++) {
    const r0 = offsets[s], len = offsets[s + 1] - r0;
    for (let c = 0; c < d; c++) softmaxColumn(x, out, r0 * d + c, len, d, log);
  }
}

export function segmentSoftmaxBackward(y: Float32Array, dy: Float32Array, d: number, offsets: Int32Array,
  dx: Float32Array, log: boolean): void {
  const k = 'segmentSoftmaxBackward';
  const rows = segmentRows(k, 'y', y, d, offsets);
  checkLen(k, 'dy', dy, rows * d, `[rows=${rows}, d=${d}]`);
  checkLen(k, 'dx', dx, rows * d, `[rows=${rows}, d=${d}]`);
  const S = offsets.length - 1;
  for (let s = 0; s < S; s++) {
    const r0 = offsets[s], len = offsets[s + 1] - r0;
    for (let c = 0; c < d; c++) softmaxBackwardColumn(y, dy, dx, r0 * d + c, len, d, log);
  }
}
