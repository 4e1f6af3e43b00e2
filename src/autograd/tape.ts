/**
 * Reverse-mode autograd on a tape. Every differentiable op computes its forward with the
 * backend kernels and records a closure that accumulates input gradients. Intermediate
 * buffers come from one arena that is recycled when the step ends (`endStep`), so a
 * training loop reuses the same memory every step.
 */
import { Arena } from '../tensor/arena.js';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr, type Shape, numel } from '../tensor/shape.js';
import { backend, type Kernels } from '../backend/index.js';
import { endRandomStep } from './stepRandom.js';

/** Recorded ops: the output and the closure that pushes its gradient to the inputs. */
const tape: { out: Tensor; backward: () => void }[] = [];
const arena = new Arena();
let gradEnabled = true;
const touched: Tensor[] = [];
/** While a backward pass runs with `BackwardOptions.reached`: every tensor it wrote a gradient to. */
let reachedLog: Set<Tensor> | null = null;
/** While a backward pass runs with `BackwardOptions.into`: where those tensors' gradients go. */
let redirected: Map<Tensor, Float32Array | null> | null = null;
/** While a backward pass runs with `BackwardOptions.intoOwn`. */
let redirectToOwn = false;

/** The kernels in use (resolved on every call so tests can switch backends). */
export function K(): Kernels {
  return backend();
}

export function stepArena(): Arena {
  return arena;
}

/** A new tensor from the step arena (contents undefined unless zero). */
export function empty(shape: Shape, zero = false): Tensor {
  return new Tensor(arena.f32(numel(shape), zero), shape);
}

/** True when an op over these inputs must be recorded. */
export function needsGrad(...inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Records `backward` for `out` when any input requires a gradient. */
export function record(out: Tensor, inputs: readonly (Tensor | null | undefined)[], backwardFn: () => void): Tensor {
  if (needsGrad(...inputs)) {
    out.requiresGrad = true;
    tape.push({ out, backward: backwardFn });
  }
  return out;
}

/**
 * t's gradient buffer for this write. `stale` when this is the buffer's first write of the pass
 * and its contents are left over: the caller must then set every element (a kernel writing with
 * beta 0), not accumulate. So a gradient that one kernel writes whole is never zeroed first nor
 * read. Views share their base's buffer (a view is a reshape: the same elements).
 */
function gradTarget(t: Tensor): { buf: Float32Array; stale: boolean } {
  const r = t.root();
  if (reachedLog !== null) reachedLog.add(r);
  if (redirected !== null && redirected.has(r)) {
    const g = redirected.get(r)!;
    if (g !== null) return { buf: g, stale: false };
    const buf = redirectToOwn && r.grad ? r.grad : arena.f32(r.size);
    redirected.set(r, buf);
    return { buf, stale: true };
  }
  if (r.grad) return { buf: r.grad, stale: false };
  r.grad = arena.f32(r.size);
  touched.push(r);
  return { buf: r.grad, stale: true };
}

/** The gradient buffer of t, to accumulate into (zeroed on first use). Views share their base's. */
export function gradOf(t: Tensor): Float32Array {
  const { buf, stale } = gradTarget(t);
  if (stale) buf.fill(0);
  return buf;
}

/**
 * Gradient buffers for a kernel that can either set or accumulate each of its outputs: buffers
 * (null where the tensor needs no gradient) and a bit mask, bit i set when bufs[i] must be set
 * (its contents are stale). A buffer shared by two outputs is zeroed and accumulated into, since
 * the kernel's write order is not the order of the arguments.
 */
export function gradSinks(...ts: readonly (Tensor | null | undefined)[]): { bufs: (Float32Array | null)[]; overwrite: number } {
  const bufs: (Float32Array | null)[] = [];
  const stale: boolean[] = [];
  for (const t of ts) {
    const g = t && t.requiresGrad ? gradTarget(t) : null;
    bufs.push(g ? g.buf : null);
    stale.push(g ? g.stale : false);
  }
  let overwrite = 0;
  bufs.forEach((b, i) => {
    if (!b || !stale[i]) return;
    if (bufs.some((o, j) => j !== i && o === b)) b.fill(0);
    else overwrite |= 1 << i;
  });
  return { bufs, overwrite };
}

/** Gradient of t if it needs one, else null (lets kernels skip work). */
export function gradIfNeeded(t: Tensor | null | undefined): Float32Array | null {
  return t && t.requiresGrad ? gradOf(t) : null;
}

export interface BackwardOptions {
  /**
   * Keep the tape, so that another output of the same forward pass can be backpropagated next
   * (per-task gradients, autograd/taskGradients.ts). Call `clearIntermediateGradients` between
   * the passes; the tape goes at `endStep`.
   */
  retain?: boolean;
  /**
   * Filled with every tensor this pass writes a gradient to (a parameter is in it exactly when
   * the loss reaches it through the tape), so callers need not scan gradient buffers for zeros.
   */
  reached?: Set<Tensor>;
  /**
   * Gradients of these tensors (parameters) go, for this pass, to step-arena buffers taken at
   * their first write (the entry is set to it; null after the pass: not reached), not to their
   * own buffers. The first write sets the buffer (or zeroes it just before accumulating, while it
   * is in cache), so a buffer is never cleared in a separate pass, and one the loss does not reach
   * costs nothing (autograd/taskGradients.ts).
   */
  into?: Map<Tensor, Float32Array | null>;
  /**
   * With `into`: the first write goes to the tensor's own gradient buffer, whose contents are
   * overwritten as an arena buffer's would be — the caller need not have zeroed it.
   */
  intoOwn?: boolean;
}

/**
 * Backpropagates from a scalar `loss` (or with an explicit seed gradient for a non-scalar
 * output), running the tape in reverse. The tape is cleared afterwards unless `retain`.
 */
export function backward(loss: Tensor, seed?: Float32Array, opts: BackwardOptions = {}): void {
  if (!loss.requiresGrad) throw new Error(`backward: ${loss} does not require a gradient (no parameter reaches it)`);
  if (!seed && loss.size !== 1) throw new Error(`backward: loss must be a scalar, got shape ${shapeStr(loss.shape)}; pass a seed gradient`);
  const g = gradOf(loss);
  if (seed) {
    if (seed.length !== loss.size) throw new Error(`backward: seed has ${seed.length} elements, loss ${loss.size}`);
    g.set(seed);
  } else {
    g[0] = 1;
  }
  reachedLog = opts.reached ?? null;
  redirected = opts.into ?? null;
  redirectToOwn = opts.intoOwn ?? false;
  try {
    for (let i = tape.length - 1; i >= 0; i--) {
      // An op whose output never reached the loss received no gradient: nothing to propagate.
      const e = tape[i]!;
      if (e.out.root().grad) e.backward();
    }
  } finally {
    reachedLog = null;
    redirected = null;
    redirectToOwn = false;
  }
  if (!opts.retain) tape.length = 0;
}

/**
 * Forgets the gradients of the step's intermediate tensors (not of parameters or tables), so a
 * second backward over a retained tape starts from nothing: an op whose output the next loss
 * does not reach is skipped again. Their buffers stay in the arena until `endStep`.
 */
export function clearIntermediateGradients(): void {
  for (const t of touched) t.grad = null;
  touched.length = 0;
}

/**
 * Ends a step: drops the tape, detaches intermediate gradients and recycles every arena
 * buffer. Tensors produced during the step must not be used afterwards.
 */
export function endStep(): void {
  tape.length = 0;
  for (const t of touched) t.grad = null;
  touched.length = 0;
  arena.reset();
  endRandomStep();
}

/** Runs fn without recording (inference). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}
