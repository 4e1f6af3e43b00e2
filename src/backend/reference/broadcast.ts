/**
 * Broadcasting binary ops (numpy rules, shapes right-aligned, at most 8 dims) and their
 * backward, which sums dOut over the dims an operand was broadcast along.
 */
import type { BinaryOp } from '../kernels.js';
import { checkLen } from './util.js';

const MAX_DIMS = 8;

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function prod(shape: readonly number[]): number {
  let p = 1;
  for (const s of shape) p *= s;
  return p;
}

interface Plan {
  outSize: number;
  /** Out shape (length = out rank). */
  dims: number[];
  /** Element strides of a and b per out dim; 0 along broadcast dims. */
  sa: number[];
  sb: number[];
}

function plan(kernel: string, aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): Plan {
  const r = outShape.length;
  if (r > MAX_DIMS || aShape.length > r || bShape.length > r) {
    throw new Error(`${kernel}: shapes a=${fmt(aShape)} b=${fmt(bShape)} out=${fmt(outShape)} exceed ${MAX_DIMS} dims or the out rank`);
  }
  for (const s of [...aShape, ...bShape, ...outShape]) {
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new Error(`${kernel}: invalid dimension ${s} in a=${fmt(aShape)} b=${fmt(bShape)} out=${fmt(outShape)}`);
    }
  }
  const strides = (shape: readonly number[]): number[] => {
    const st = new Array<number>(r).fill(0);
    const off = r - shape.length;
    let acc = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const o = outShape[off + d];
      if (shape[d] === o) st[off + d] = o === 1 ? 0 : acc;
      else if (shape[d] === 1) st[off + d] = 0;
      else {
        throw new Error(`${kernel}: shapes a=${fmt(aShape)} b=${fmt(bShape)} do not broadcast to out=${fmt(outShape)}`);
      }
      acc *= shape[d];
    }
    return st;
  };
  return { outSize: prod(outShape), dims: outShape.slice(), sa: strides(aShape), sb: strides(bShape) };
}

/**
 * Visits every out element in row-major order, calling fn(outIndex, aIndex, bIndex).
 * The innermost dim is a tight loop; outer dims advance an odometer.
 */
function forEach(p: Plan, fn: (o: number, ia: number, ib: number) => void): void {
  const { dims, sa, sb, outSize } = p;
  const r = dims.length;
  if (outSize === 0) return;
  if (r === 0) { fn(0, 0, 0); return; }
  const last = r - 1;
  const n = dims[last], la = sa[last], lb = sb[last];
  const idx = new Array<number>(r).fill(0);
  let ia = 0, ib = 0, o = 0;
  while (o < outSize) {
    for (let j = 0, xa = ia, xb = ib; j < n; j++, xa += la, xb += lb) fn(o++, xa, xb);
    // Carry into the outer dims.
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      ia += sa[d]; ib += sb[d];
      if (idx[d] < dims[d]) break;
      ia -= sa[d] * dims[d]; ib -= sb[d] * dims[d];
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array,
  bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void {
  const k = 'binary';
  const p = plan(k, aShape, bShape, outShape);
  checkLen(k, 'a', a, prod(aShape), `shape ${fmt(aShape)}`);
  checkLen(k, 'b', b, prod(bShape), `shape ${fmt(bShape)}`);
  checkLen(k, 'out', out, p.outSize, `shape ${fmt(outShape)}`);
  if (sameShape(aShape, outShape) && sameShape(bShape, outShape)) {
    const n = p.outSize;
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[i] = a[i] + b[i]; return;
      case 'sub': for (let i = 0; i < n; i++) out[i] = a[i] - b[i]; return;
      case 'mul': for (let i = 0; i < n; i++) out[i] = a[i] * b[i]; return;
      case 'div': for (let i = 0; i < n; i++) out[i] = a[i] / b[i]; return;
    }
  }
  switch (op) {
    case 'add': forEach(p, (o, ia, ib) => { out[o] = a[ia] + b[ib]; }); return;
    case 'sub': forEach(p, (o, ia, ib) => { out[o] = a[ia] - b[ib]; }); return;
    case 'mul': forEach(p, (o, ia, ib) => { out[o] = a[ia] * b[ib]; }); return;
    case 'div': forEach(p, (o, ia, ib) => { out[o] = a[ia] / b[ib]; }); return;
    default: throw new Error(`${k}: unknown op '${String(op)}'`);
  }
}

export function binaryBackward(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array,
  bShape: readonly number[], dOut: Float32Array, outShape: readonly number[],
  da: Float32Array | null, db: Float32Array | null): void {
  const k = 'binaryBackward';
  if (op !== 'add' && op !== 'sub' && op !== 'mul' && op !== 'div') throw new Error(`${k}: unknown op '${String(op)}'`);
  const p = plan(k, aShape, bShape, outShape);
  const na = prod(aShape), nb = prod(bShape);
  checkLen(k, 'a', a, na, `shape ${fmt(aShape)}`);
  checkLen(k, 'b', b, nb, `shape ${fmt(bShape)}`);
  checkLen(k, 'dOut', dOut, p.outSize, `shape ${fmt(outShape)}`);
  if (da) checkLen(k, 'da', da, na, `shape ${fmt(aShape)}`);
  if (db) checkLen(k, 'db', db, nb, `shape ${fmt(bShape)}`);
  // Reductions over broadcast dims are summed in float64 and added to the gradient once,
  // in out-index order, so the result does not depend on how the loop is split.
  const ga = da ? new Float64Array(na) : null;
  const gb = db ? new Float64Array(nb) : null;
  forEach(p, (o, ia, ib) => {
    const g = dOut[o];
    switch (op) {
      case 'add':
        if (ga) ga[ia] += g;
        if (gb) gb[ib] += g;
        break;
      case 'sub':
        if (ga) ga[ia] += g;
        if (gb) gb[ib] -= g;
        break;
      case 'mul':
        if (ga) ga[ia] += g * b[ib];
        if (gb) gb[ib] += g * a[ia];
        break;
      case 'div': {
        const bv = b[ib];
        if (ga) ga[ia] += g / bv;
        if (gb) gb[ib] -= (g * a[ia]) / (bv * bv);
        break;
      }
    }
  });
  if (da && ga) for (let i = 0; i < na; i++) da[i] += ga[i];
  if (db && gb) for (let i = 0; i < nb; i++) db[i] += gb[i];
}
