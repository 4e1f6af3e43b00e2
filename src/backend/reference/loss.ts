/** Weighted binary cross-entropy with logits (SPEC §1), the base of every pointwise loss. */
import { sigmoid, softplus } from './activation.js';
import { checkDim, checkLen } from './util.js';

export function bceWithLogits(z: Float32Array, y: Float32Array, w: Float32Array | null, n: number, dz: Float32Array): number {
  const k = 'bceWithLogits';
  checkDim(k, 'n', n);
  checkLen(k, 'z', z, n, `n=${n}`);
  checkLen(k, 'y', y, n, `n=${n}`);
  if (w) checkLen(k, 'w', w, n, `n=${n}`);
  checkLen(k, 'dz', dz, n, `n=${n}`);
  // A non-finite input would turn the loss into NaN and silently wreck training; fail loudly
  // with the position so the bad sample can be found.
  let sw = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(z[i])) throw new Error(`${k}: logit z[${i}] = ${z[i]} is not finite`);
    if (!Number.isFinite(y[i])) throw new Error(`${k}: label y[${i}] = ${y[i]} is not finite`);
    if (w) {
      if (!Number.isFinite(w[i])) throw new Error(`${k}: weight w[${i}] = ${w[i]} is not finite`);
      sw += w[i];
    }
  }
  if (!w) sw = n;
  if (!(sw > 0)) throw new Error(`${k}: sum of weights must be > 0, got ${sw} (n=${n})`);
  const inv = 1 / sw;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i], yi = y[i], wi = w ? w[i] : 1;
    // softplus(z) − y·z = −[y log σ(z) + (1−y) log(1−σ(z))], finite for any finite z.
    loss += wi * (softplus(zi) - yi * zi);
    dz[i] = wi * (sigmoid(zi) - yi) * inv;
  }
  return loss * inv;
}
