/**
 * Sparse embeddings: lookup, bag pooling and the row-sparse gradient. Tables can have tens of
 * millions of rows, so nothing here allocates memory proportional to numRows.
 */
import { checkDim, checkLen, checkOffsets } from './util.js';

function checkIds(k: string, ids: Int32Array, n: number, numRows: number): void {
  for (let p = 0; p < n; p++) {
    const id = ids[p];
    if (id < 0 || id >= numRows) throw new Error(`${k}: id ${id} at position ${p} is outside [0, ${numRows})`);
  }
}

function checkTable(k: string, table: Float32Array, numRows: number, dim: number): void {
  checkDim(k, 'numRows', numRows); checkDim(k, 'dim', dim);
  checkLen(k, 'table', table, numRows * dim, `[numRows=${numRows}, dim=${dim}]`);
}

export function embeddingLookup(table: Float32Array, numRows: number, dim: number, ids: Int32Array, n: number, out: Float32Array): void {
  const k = 'embeddingLookup';
  checkTable(k, table, numRows, dim);
  checkDim(k, 'n', n);
  checkLen(k, 'ids', ids, n, `n=${n}`);
  checkLen(k, 'out', out, n * dim, `[n=${n}, dim=${dim}]`);
  checkIds(k, ids, n, numRows);
  for (let b = 0; b < n; b++) {
    const src = ids[b] * dim;
    out.set(table.subarray(src, src + dim), b * dim);
  }
}

export function embeddingBag(table: Float32Array, numRows: number, dim: number, ids: Int32Array, offsets: Int32Array,
  wts: Float32Array | null, mean: boolean, out: Float32Array): void {
  const k = 'embeddingBag';
  checkTable(k, table, numRows, dim);
  // No id count is passed, so ids must be exactly the concatenated bags.
  const S = checkOffsets(k, offsets, ids.length, 'ids');
  const n = ids.length;
  if (wts) checkLen(k, 'wts', wts, n, `n=${n}`);
  checkLen(k, 'out', out, S * dim, `[S=${S}, dim=${dim}]`);
  checkIds(k, ids, n, numRows);
  const acc = new Float64Array(dim);
  for (let s = 0; s < S; s++) {
    const p0 = offsets[s], p1 = offsets[s + 1];
    acc.fill(0);
    for (let p = p0; p < p1; p++) {
      const w = wts ? wts[p] : 1;
      const row = ids[p] * dim;
      for (let c = 0; c < dim; c++) acc[c] += w * table[row + c];
    }
    const sc = mean && p1 > p0 ? 1 / (p1 - p0) : 1;
    const ob = s * dim;
    for (let c = 0; c < dim; c++) out[ob + c] = acc[c] * sc;
  }
}

/**
 * Positions 0..n-1 ordered by (id, position). Packing id·n + position into a float64 and
 * sorting the Float64Array natively is much faster than a comparator sort; it is exact while
 * numRows·n ≤ 2^53, which covers any realistic table × batch. Beyond that, fall back.
 * Exported for tests (allowPacked = false forces the fallback); not part of `Kernels`.
 */
export function sortedPositions(ids: Int32Array, n: number, numRows: number, allowPacked = true): Uint32Array {
  const order = new Uint32Array(n);
  if (allowPacked && numRows * n <= Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(n);
    for (let p = 0; p < n; p++) keys[p] = ids[p] * n + p;
    keys.sort();
    for (let q = 0; q < n; q++) order[q] = keys[q] % n;
  } else {
    for (let p = 0; p < n; p++) order[p] = p;
    order.sort((a, b) => (ids[a] - ids[b]) || (a - b));
  }
  return order;
}

export function embeddingBackward(ids: Int32Array, n: number, dOut: Float32Array, dim: number, numRows: number,
  offsets: Int32Array | null, wts: Float32Array | null, mean: boolean,
  uniqueRows: Int32Array, rowGrads: Float32Array): number {
  const k = 'embeddingBackward';
  checkDim(k, 'n', n); checkDim(k, 'dim', dim); checkDim(k, 'numRows', numRows);
  checkLen(k, 'ids', ids, n, `n=${n}`);
  if (wts) checkLen(k, 'wts', wts, n, `n=${n}`);
  checkIds(k, ids, n, numRows);
  // bagOf[p] = the output row position p contributes to; scale[p] its multiplier.
  let bagOf: Int32Array | null = null;
  let bagScale: Float64Array | null = null;
  if (offsets) {
    const S = checkOffsets(k, offsets, n, 'ids');
    checkLen(k, 'dOut', dOut, S * dim, `[S=${S}, dim=${dim}]`);
    bagOf = new Int32Array(n);
    bagScale = new Float64Array(n);
    for (let s = 0; s < S; s++) {
      const p0 = offsets[s], p1 = offsets[s + 1];
      const sc = mean ? 1 / (p1 - p0) : 1;
      for (let p = p0; p < p1; p++) { bagOf[p] = s; bagScale[p] = sc; }
    }
  } else {
    checkLen(k, 'dOut', dOut, n * dim, `[n=${n}, dim=${dim}]`);
  }
  const order = sortedPositions(ids, n, numRows);
  let U = 0;
  for (let q = 0; q < n; q++) if (q === 0 || ids[order[q]] !== ids[order[q - 1]]) U++;
  checkLen(k, 'uniqueRows', uniqueRows, U, `U=${U} unique ids`);
  checkLen(k, 'rowGrads', rowGrads, U * dim, `[U=${U}, dim=${dim}]`);
  const acc = new Float64Array(dim);
  let u = 0;
  let q = 0;
  while (q < n) {
    const id = ids[order[q]];
    acc.fill(0);
    for (; q < n && ids[order[q]] === id; q++) {
      const p = order[q];
      let sc = wts ? wts[p] : 1;
      let src = p * dim;
      if (bagOf && bagScale) { sc *= bagScale[p]; src = bagOf[p] * dim; }
      for (let c = 0; c < dim; c++) acc[c] += sc * dOut[src + c];
    }
    uniqueRows[u] = id;
    const ob = u * dim;
    for (let c = 0; c < dim; c++) rowGrads[ob + c] = acc[c];
    u++;
  }
  return U;
}
