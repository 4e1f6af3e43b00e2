/** Weight initialisers (seeded). */
import type { Rng } from '../util/random.js';

/** Xavier/Glorot uniform U(−a, a), a = √(6 / (fanIn + fanOut)). */
export function xavierUniform(out: Float32Array, fanIn: number, fanOut: number, rng: Rng): Float32Array {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  for (let i = 0; i < out.length; i++) out[i] = (rng.uniform() * 2 - 1) * a;
  return out;
}

/** N(0, std²). */
export function normal(out: Float32Array, std: number, rng: Rng): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
  return out;
}

/** U(lo, hi). */
export function uniform(out: Float32Array, lo: number, hi: number, rng: Rng): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}
