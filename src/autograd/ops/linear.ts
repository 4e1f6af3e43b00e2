import type { Activation } from '../../backend/kernels.js';
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/shape.js';
import { K, empty, record, gradIfNeeded, stepArena } from '../tape.js';

function dims2(op: string, t: Tensor, name: string): [number, number] {
  if (t.shape.length !== 2) throw new Error(`${op}: ${name} must be 2-D, got shape ${shapeStr(t.shape)}`);
  return [t.shape[0]!, t.shape[1]!];
}

/** C = op(A)·op(B) for 2-D tensors (op = optional transpose). */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  const [ar, ac] = dims2('matmul', a, 'a');
  const [br, bc] = dims2('matmul', b, 'b');
  const [M, Ka] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (Ka !== Kb) {
    throw new Error(`matmul: inner dimensions differ: ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} · ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`);
  }
  const out = empty([M, N]);
  K().gemm(transA, transB, M, N, Ka, 1, a.data, b.data, 0, out.data);
  return record(out, [a, b], () => {
    const dC = out.grad!;
    const da = gradIfNeeded(a);
    const db = gradIfNeeded(b);
    // dA = dC·op(B)ᵀ (stored in A's layout), dB = op(A)ᵀ·dC (stored in B's layout)
    if (da) {
      if (transA) K().gemm(transB, true, Ka, M, N, 1, b.data, dC, 1, da);
      else K().gemm(false, !transB, M, Ka, N, 1, dC, b.data, 1, da);
    }
    if (db) {
      if (transB) K().gemm(true, transA, N, Ka, M, 1, dC, a.data, 1, db);
      else K().gemm(!transA, false, Ka, N, M, 1, a.data, dC, 1, db);
    }
  });
}

/**
 * Fused dense layer y = act(x·W + b): x [M,K], W [K,N] (in × out), b [N] or null. One GEMM
 * with the bias and activation applied in its epilogue; backward takes act' from y.
 */
export function linear(x: Tensor, W: Tensor, b: Tensor | null, act: Activation = 'none', param = 0): Tensor {
  const [M, Kx] = dims2('linear', x, 'x');
  const [Kw, N] = dims2('linear', W, 'W');
  if (Kx !== Kw) throw new Error(`linear: x ${shapeStr(x.shape)} does not match W ${shapeStr(W.shape)} (in × out)`);
  if (b && (b.size !== N)) throw new Error(`linear: bias ${shapeStr(b.shape)} does not match W ${shapeStr(W.shape)}`);
  const out = empty([M, N]);
  K().linearForward(x.data, W.data, b ? b.data : null, out.data, M, Kx, N, act, param);
  return record(out, [x, W, b], () => {
    const dZ = stepArena().f32(M * N);
    K().linearBackward(x.data, W.data, out.data, out.grad!, dZ, gradIfNeeded(x), gradIfNeeded(W), gradIfNeeded(b), M, Kx, N, act, param);
  });
}
