import { Tensor } from '../../tensor/tensor.js';
import { numel, normAxis, shapeStr, splitAt, type Shape } from '../../tensor/shape.js';
import { K, empty, record, gradOf } from '../tape.js';

/** Same data, new shape (a view: no copy; one dim may be −1). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0) {
    const rest = numel(s.filter((_, i) => i !== free));
    if (rest === 0 || x.size % rest !== 0) throw new Error(`reshape: cannot view ${shapeStr(x.shape)} as ${shapeStr(shape)}`);
    s[free] = x.size / rest;
  }
  if (numel(s) !== x.size) throw new Error(`reshape: cannot view ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)}`);
  return new Tensor(x.data, s, x.requiresGrad, x);
}

/** Concatenation along `axis` (every other dim must agree). */
export function concat(xs: readonly Tensor[], axis = -1): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors');
  const rank = xs[0]!.shape.length;
  const a = normAxis('concat', axis, rank);
  for (const t of xs) {
    if (t.shape.length !== rank || t.shape.some((d, i) => i !== a && d !== xs[0]!.shape[i])) {
      throw new Error(`concat: shapes ${xs.map((x) => shapeStr(x.shape)).join(', ')} differ outside axis ${a}`);
    }
  }
  const shape = xs[0]!.shape.slice();
  shape[a] = xs.reduce((s, t) => s + t.shape[a]!, 0);
  const [outer, total, inner] = splitAt(shape, a);
  const out = empty(shape);
  let off = 0;
  const offs: number[] = [];
  for (const t of xs) {
    const cols = t.shape[a]! * inner;
    offs.push(off);
    K().copy2d(t.data, 0, cols, out.data, off, total * inner, outer, cols, false);
    off += cols;
  }
  return record(out, xs, () => {
    xs.forEach((t, i) => {
      if (!t.requiresGrad) return;
      const cols = t.shape[a]! * inner;
      K().copy2d(out.grad!, offs[i]!, total * inner, gradOf(t), 0, cols, outer, cols, true);
    });
  });
}

/** x[..., start:end, ...] along `axis` (a copy). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis('slice', axis, x.shape.length);
  const [outer, len, inner] = splitAt(x.shape, a);
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= len)) {
    throw new Error(`slice: range [${start}, ${end}) out of bounds for axis ${a} of ${shapeStr(x.shape)}`);
  }
  const shape = x.shape.slice();
  shape[a] = end - start;
  const cols = (end - start) * inner;
  const out = empty(shape);
  K().copy2d(x.data, start * inner, len * inner, out.data, 0, cols, outer, cols, false);
  return record(out, [x], () => {
    K().copy2d(out.grad!, 0, cols, gradOf(x), start * inner, len * inner, outer, cols, true);
  });
}

/** Splits along `axis` into pieces of the given sizes. */
export function split(x: Tensor, sizes: readonly number[], axis = -1): Tensor[] {
  const a = normAxis('split', axis, x.shape.length);
  const total = sizes.reduce((s, v) => s + v, 0);
  if (total !== x.shape[a]) throw new Error(`split: sizes [${sizes.join(', ')}] do not add up to ${x.shape[a]} (axis ${a} of ${shapeStr(x.shape)})`);
  const parts: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    parts.push(slice(x, a, start, start + s));
    start += s;
  }
  return parts;
}
