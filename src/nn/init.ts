/** Weight initialisers (seeded). */
import type { Rng } from '../util/random.js';

let skipping = 0;

/**
 * Runs `build` with the initialisers below leaving their arrays as they are (zeros) and drawing
 * nothing: for a model whose every parameter is overwritten by saved weights right after, where
 * drawing millions of initial values would be the slowest part of loading it. Draws other than
 * initial weights (a dropout stream's seed) then differ from a fresh build's, so such a model is
 * for inference only.
 */
export function withoutInitialWeights<T>(build: () => T): T {
  skipping++;
  try {
    return build();
  } finally {
    skipping--;
  }
}

/** Xavier/Glorot uniform U(−a, a), a = √(6 / (fanIn + fanOut)). */
export function xavierUniform(out: Float32Array, fanIn: number, fanOut: number, rng: Rng): Float32Array {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  if (skipping > 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = (rng.uniform() * 2 - 1) * a;
  return out;
}

/** N(0, std²). */
export function normal(out: Float32Array, std: number, rng: Rng): Float32Array {
  if (skipping > 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
  return out;
}

/** U(lo, hi). */
export function uniform(out: Float32Array, lo: number, hi: number, rng: Rng): Float32Array {
  if (skipping > 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}
