/** Axis reductions, strided block copies and the float64 sum of squares. */
import { checkDim, checkLen } from './util.js';

export function reduceSum(x: Float32Array, outer: number, len: number, inner: number, out: Float32Array, scale: number): void {
  const k = 'reduceSum';
  checkDim(k, 'outer', outer); checkDim(k, 'len', len); checkDim(k, 'inner', inner);
  checkLen(k, 'x', x, outer * len * inner, `[outer=${outer}, len=${len}, inner=${inner}]`);
  checkLen(k, 'out', out, outer * inner, `[outer=${outer}, inner=${inner}]`);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * len * inner;
    for (let a = 0; a < len; a++) {
      const row = base + a * inner;
      for (let i = 0; i < inner; i++) acc[i] += x[row + i];
    }
    const ob = o * inner;
    for (let i = 0; i < inner; i++) out[ob + i] = scale * acc[i];
  }
}

export function reduceSumBackward(dOut: Float32Array, outer: number, len: number, inner: number, dx: Float32Array, scale: number): void {
  const k = 'reduceSumBackward';
  checkDim(k, 'outer', outer); checkDim(k, 'len', len); checkDim(k, 'inner', inner);
  checkLen(k, 'dOut', dOut, outer * inner, `[outer=${outer}, inner=${inner}]`);
  checkLen(k, 'dx', dx, outer * len * inner, `[outer=${outer}, len=${len}, inner=${inner}]`);
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    const ob = o * inner;
    for (let a = 0; a < len; a++) {
      const row = base + a * inner;
      for (let i = 0; i < inner; i++) dx[row + i] += scale * dOut[ob + i];
    }
  }
}

export function copy2d(src: Float32Array, srcOff: number, srcStride: number, dst: Float32Array, dstOff: number,
  dstStride: number, rows: number, cols: number, accumulate: boolean): void {
  const k = 'copy2d';
  checkDim(k, 'srcOff', srcOff); checkDim(k, 'srcStride', srcStride);
  checkDim(k, 'dstOff', dstOff); checkDim(k, 'dstStride', dstStride);
  checkDim(k, 'rows', rows); checkDim(k, 'cols', cols);
  if (rows === 0 || cols === 0) return;
  const srcEnd = srcOff + (rows - 1) * srcStride + cols;
  const dstEnd = dstOff + (rows - 1) * dstStride + cols;
  if (srcEnd > src.length) {
    throw new Error(`${k}: src block (off=${srcOff}, stride=${srcStride}, rows=${rows}, cols=${cols}) ends at ${srcEnd} > src length ${src.length}`);
  }
  if (dstEnd > dst.length) {
    throw new Error(`${k}: dst block (off=${dstOff}, stride=${dstStride}, rows=${rows}, cols=${cols}) ends at ${dstEnd} > dst length ${dst.length}`);
  }
  for (let r = 0; r < rows; r++) {
    const s = srcOff + r * srcStride;
    const d = dstOff + r * dstStride;
    if (accumulate) {
      for (let c = 0; c < cols; c++) dst[d + c] += src[s + c];
    } else {
      for (let c = 0; c < cols; c++) dst[d + c] = src[s + c];
    }
  }
}

export function dot(x: Float32Array, y: Float32Array, n: number): number {
  const k = 'dot';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  checkLen(k, 'y', y, n, `n=${n}`);
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]! * y[i]!;
  return s;
}

function runsOf(k: string, n: number, run: number): number {
  checkDim(k, 'n', n);
  checkDim(k, 'run', run);
  if (run < 1) throw new Error(`${k}: run must be at least 1`);
  return Math.ceil(n / run);
}

export function gram(xs: readonly Float32Array[], n: number, run: number, out: Float64Array): void {
  const k = 'gram';
  const runs = runsOf(k, n, run);
  const m = xs.length;
  xs.forEach((x, a) => checkLen(k, `xs[${a}]`, x, n, `n=${n}`));
  checkLen(k, 'out', out, runs * m * m, `${runs} runs × ${m} × ${m}`);
  for (let r = 0; r < runs; r++) {
    const s = r * run, len = Math.min(run, n - s), o = r * m * m;
    for (let a = 0; a < m; a++) {
      for (let b = a; b < m; b++) {
        const d = dot(xs[a]!.subarray(s), xs[b]!.subarray(s), len);
        out[o + a * m + b] += d;
        if (b !== a) out[o + b * m + a] += d;
      }
    }
  }
}

export function combineRuns(xs: readonly Float32Array[], n: number, run: number, coef: Float64Array): void {
  const k = 'combineRuns';
  const runs = runsOf(k, n, run);
  const m = xs.length;
  xs.forEach((x, a) => checkLen(k, `xs[${a}]`, x, n, `n=${n}`));
  checkLen(k, 'coef', coef, runs * m, `${runs} runs × ${m}`);
  if (m === 0) return;
  const out = xs[0]!;
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / run) * m;
    let v = coef[c]! * out[i]!;
    for (let a = 1; a < m; a++) v += coef[c + a]! * xs[a]![i]!;
    out[i] = v;
  }
}

export function sumSquares(x: Float32Array, n: number): number {
  const k = 'sumSquares';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  let s = 0;
  for (let i = 0; i < n; i++) { const v = x[i]; s += v * v; }
  return s;
}
