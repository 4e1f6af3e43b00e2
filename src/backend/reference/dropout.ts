/** Inverted dropout driven by the counter-based `dropoutUniform` shared with C++. */
import { dropoutUniform } from '../kernels.js';
import { checkDim, checkLen } from './util.js';

export function dropout(x: Float32Array, n: number, p: number, seed: number, mask: Float32Array, out: Float32Array): void {
  const k = 'dropout';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  checkLen(k, 'mask', mask, n, `n=${n}`);
  checkLen(k, 'out', out, n, `n=${n}`);
  if (!(p >= 0 && p <= 1)) throw new Error(`${k}: p must be in [0, 1], got ${p}`);
  // p = 1 drops everything; its scale 1/(1−p) would be Inf and 0·Inf = NaN, so special-case it.
  // Rounded to float32 so out = x ⊙ mask holds exactly for the stored mask.
  const scale = p < 1 ? Math.fround(1 / (1 - p)) : 0;
  for (let i = 0; i < n; i++) {
    const m = p < 1 && dropoutUniform(seed, i) >= p ? scale : 0;
    mask[i] = m;
    out[i] = x[i] * m;
  }
}
