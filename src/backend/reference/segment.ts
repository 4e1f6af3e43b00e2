/** Segment (list / sequence) pooling and RankNet pair differences. */
import { checkDim, checkLen, segmentRows } from './util.js';

export function segmentSum(x: Float32Array, d: number, offsets: Int32Array, out: Float32Array, mean: boolean): void {
  const k = 'segmentSum';
  segmentRows(k, 'x', x, d, offsets);
  const S = offsets.length - 1;
  checkLen(k, 'out', out, S * d, `[S=${S}, d=${d}]`);
  const acc = new Float64Array(d);
  for (let s = 0; s < S; s++) {
    const r0 = offsets[s], r1 = offsets[s + 1];
    acc.fill(0);
    for (let r = r0; r < r1; r++) {
      const row = r * d;
      for (let c = 0; c < d; c++) acc[c] += x[row + c];
    }
    const cnt = r1 - r0;
    // Empty segment: 0 (not 0/0) for both sum and mean.
    const sc = mean && cnt > 0 ? 1 / cnt : 1;
    const ob = s * d;
    for (let c = 0; c < d; c++) out[ob + c] = acc[c] * sc;
  }
}

export function segmentSumBackward(dOut: Float32Array, d: number, offsets: Int32Array, dx: Float32Array, mean: boolean): void {
  const k = 'segmentSumBackward';
  segmentRows(k, 'dx', dx, d, offsets);
  const S = offsets.length - 1;
  checkLen(k, 'dOut', dOut, S * d, `[S=${S}, d=${d}]`);
  for (let s = 0; s < S; s++) {
    const r0 = offsets[s], r1 = offsets[s + 1];
    const cnt = r1 - r0;
    if (cnt === 0) continue;
    const sc = mean ? 1 / cnt : 1;
    const ob = s * d;
    for (let r = r0; r < r1; r++) {
      const row = r * d;
      for (let c = 0; c < d; c++) dx[row + c] += dOut[ob + c] * sc;
    }
  }
}

function checkPairs(k: string, z: Float32Array, pi: Int32Array, pj: Int32Array, nPairs: number): void {
  checkDim(k, 'nPairs', nPairs);
  checkLen(k, 'pi', pi, nPairs, `nPairs=${nPairs}`);
  checkLen(k, 'pj', pj, nPairs, `nPairs=${nPairs}`);
  const n = z.length;
  for (let p = 0; p < nPairs; p++) {
    const i = pi[p], j = pj[p];
    if (i < 0 || i >= n) throw new Error(`${k}: pair ${p} index i=${i} is outside [0, ${n})`);
    if (j < 0 || j >= n) throw new Error(`${k}: pair ${p} index j=${j} is outside [0, ${n})`);
  }
}

export function pairDiff(z: Float32Array, pi: Int32Array, pj: Int32Array, out: Float32Array, nPairs: number): void {
  const k = 'pairDiff';
  checkPairs(k, z, pi, pj, nPairs);
  checkLen(k, 'out', out, nPairs, `nPairs=${nPairs}`);
  for (let p = 0; p < nPairs; p++) out[p] = z[pi[p]] - z[pj[p]];
}

export function pairDiffBackward(dOut: Float32Array, pi: Int32Array, pj: Int32Array, dz: Float32Array, nPairs: number): void {
  const k = 'pairDiffBackward';
  checkPairs(k, dz, pi, pj, nPairs);
  checkLen(k, 'dOut', dOut, nPairs, `nPairs=${nPairs}`);
  for (let p = 0; p < nPairs; p++) {
    const g = dOut[p];
    dz[pi[p]] += g;
    dz[pj[p]] -= g;
  }
}
