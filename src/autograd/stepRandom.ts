/**
 * Randomness inside a training step (dropout masks) is a pure function of the step's number and
 * of the draw: (stream seed, step, k-th draw of the step). A resumed run that restores the step
 * number (the optimiser's step count, which checkpoints carry) therefore draws exactly the masks
 * the uninterrupted run drew, and no generator state has to be saved. `trainStep` numbers each
 * step; a hand-written loop that does not gets the next number at every `endStep`.
 */
let step = 0;
let draws = 0;

/** Numbers the step about to run (0-based) and restarts its draw count. */
export function beginRandomStep(n: number): void {
  step = n >>> 0;
  draws = 0;
}

/** Called by endStep: a step that nobody numbered still gets fresh draws. */
export function endRandomStep(): void {
  beginRandomStep(step + 1);
}

/** The seed of the next draw of this step for a stream (e.g. one MLP's dropout). */
export function stepSeed(streamSeed: number): number {
  let h = (streamSeed >>> 0) ^ Math.imul(step, 0x9e3779b1) ^ Math.imul(++draws, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
