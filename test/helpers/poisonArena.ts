/**
 * Fills the step arena's pooled buffers with NaN, so that the next step's buffers hold stale
 * garbage: a kernel that should set a buffer but reads or skips part of it then shows as NaN.
 */
import { endStep, stepArena } from '../../src/autograd/tape.js';
import { sizeClass } from '../../src/tensor/arena.js';

/** Every size class up to `maxFloats`, `copies` buffers each (enough for one small step). */
export function poisonArena(maxFloats = 1 << 14, copies = 16): void {
  endStep();
  for (let n = 8; n <= maxFloats; n = sizeClass(n + 1)) for (let c = 0; c < copies; c++) stepArena().f32(n).fill(NaN);
  endStep();
}
