import type { Activation } from '../../backend/kernels.js';
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/shape.js';
import { K, empty, record, gradIfNeeded, gradSinks, needsGrad, stepArena } from '../tape.js';

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
    const { bufs: [da, db], overwrite } = gradSinks(a, b);
    // A fresh gradient buffer is written with beta 0 (set), a reached one accumulated into.
    const betaA = overwrite & 1 ? 0 : 1, betaB = overwrite & 2 ? 0 : 1;
    // dA = dC·op(B)ᵀ (stored in A's layout), dB = op(A)ᵀ·dC (stored in B's layout)
    if (da) {
      if (transA) K().gemm(transB, true, Ka, M, N, 1, b.data, dC, betaA, da);
      else K().gemm(false, !transB, M, Ka, N, 1, dC, b.data, betaA, da);
    }
    if (db) {
      if (transB) K().gemm(true, transA, N, Ka, M, 1, dC, a.data, betaB, db);
      else K().gemm(!transA, false, Ka, N, M, 1, a.data, dC, betaB, db);
    }
  });
}

/**
 * Fused dense layer y = act(x·W + b): x [M,K], W [K,N] (in × out), b [N] or null. One GEMM
 * with the bias and activation applied in its epilogue; backward takes act' from y. `packedW`: W
 * pre-packed (Kernels.packWeights) for inference, or null.
 */
export function linear(x: Tensor, W: Tensor, b: Tensor | null, act: Activation = 'none', param = 0, packedW: Float32Array | null = null): Tensor {
  const [M, Kx] = dims2('linear', x, 'x');
  const [Kw, N] = dims2('linear', W, 'W');
  if (Kx !== Kw) throw new Error(`linear: x ${shapeStr(x.shape)} does not match W ${shapeStr(W.shape)} (in × out)`);
  if (b && (b.size !== N)) throw new Error(`linear: bias ${shapeStr(b.shape)} does not match W ${shapeStr(W.shape)}`);
  const out = empty([M, N]);
  K().linearForward(x.data, W.data, b ? b.data : null, out.data, M, Kx, N, act, param, packedW);
  return record(out, [x, W, b], () => {
    const dZ = stepArena().f32(M * N);
    // Fresh gradient buffers are set by the kernel, not zeroed then accumulated into.
    const { bufs: [dx, dW, db], overwrite } = gradSinks(x, W, b);
    K().linearBackward(x.data, W.data, out.data, out.grad!, dZ, dx, dW, db, M, Kx, N, act, param, overwrite);
  });
}

/**
 * z = Σ_i x_i·W_i + r[segment of the row]: x_i [P, K_i], W_i [K_i, N], r [S, N] repeated over each
 * segment's rows (offsets over P) → [P, N]. DIN's attention layer: per-event terms plus a per-row
 * term (the target's), computed once per row. The products accumulate into one buffer (GEMM with
 * beta = 1), so neither a concatenation of the x_i nor a [P, N] add is formed.
 */
export function segmentLinear(terms: readonly (readonly [Tensor, Tensor])[], r: Tensor, offsets: Int32Array): Tensor {
  const [S, N] = dims2('segmentLinear', r, 'r');
  if (offsets.length !== S + 1) throw new Error(`segmentLinear: ${offsets.length - 1} segments but r has ${S} rows`);
  const P = offsets[S]!;
  const shapes = terms.map(([x, W], i) => {
    const [M, Kx] = dims2('segmentLinear', x, `x${i}`);
    const [Kw, Nw] = dims2('segmentLinear', W, `W${i}`);
    if (M !== P || Kx !== Kw || Nw !== N) {
      throw new Error(`segmentLinear: term ${i}: x ${shapeStr(x.shape)} · W ${shapeStr(W.shape)} does not give [${P}, ${N}]`);
    }
    return Kx;
  });
  const out = empty([P, N], true);
  K().segmentSumBackward(r.data, N, offsets, out.data, false);
  terms.forEach(([x, W], i) => K().gemm(false, false, P, N, shapes[i]!, 1, x.data, W.data, 1, out.data));
  return record(out, [...terms.flat(), r], () => {
    const dZ = out.grad!;
    terms.forEach(([x, W], i) => {
      const Kx = shapes[i]!;
      const dx = gradIfNeeded(x);
      const dW = gradIfNeeded(W);
      if (dx) K().gemm(false, true, P, Kx, N, 1, dZ, W.data, 1, dx);
      if (dW) K().gemm(true, false, Kx, N, P, 1, x.data, dZ, 1, dW);
    });
    const dr = gradIfNeeded(r);
    if (dr) {
      const summed = stepArena().f32(S * N);
      K().segmentSum(dZ, N, offsets, summed, false);
      K().axpy(S * N, 1, summed, dr);
    }
  });
}

/**
 * DCN-v2 cross layer out = x0 ⊙ (a·W + b) + x (a [M,K], W [K,D], x0 and x [M,D]): one GEMM with
 * the update in its epilogue, and one elementwise pass plus the two GEMMs in backward. Same bits
 * as mul(x0, linear(a, W, b)) + x; a is x for a full-rank layer, x·U for a low-rank one. `packedW`
 * as for linear.
 */
export function crossLinear(x0: Tensor, x: Tensor, a: Tensor, W: Tensor, b: Tensor | null, packedW: Float32Array | null = null): Tensor {
  const [M, Ka] = dims2('crossLinear', a, 'a');
  const [Kw, D] = dims2('crossLinear', W, 'W');
  if (Ka !== Kw) throw new Error(`crossLinear: a ${shapeStr(a.shape)} does not match W ${shapeStr(W.shape)} (in × out)`);
  for (const [t, name] of [[x0, 'x0'], [x, 'x']] as const) {
    const [r, c] = dims2('crossLinear', t, name);
    if (r !== M || c !== D) throw new Error(`crossLinear: ${name} ${shapeStr(t.shape)} is not [${M}, ${D}]`);
  }
  if (b && b.size !== D) throw new Error(`crossLinear: bias ${shapeStr(b.shape)} does not match W ${shapeStr(W.shape)}`);
  const out = empty([M, D]);
  const z = needsGrad(x0, x, a, W, b) ? stepArena().f32(M * D) : null;
  K().crossForward(a.data, W.data, b ? b.data : null, x0.data, x.data, out.data, z, M, Ka, D, packedW);
  return record(out, [x0, x, a, W, b], () => {
    const dZ = stepArena().f32(M * D);
    K().crossBackward(a.data, W.data, z!, x0.data, out.grad!, dZ, gradIfNeeded(a), gradIfNeeded(W), gradIfNeeded(b),
      gradIfNeeded(x0), gradIfNeeded(x), M, Ka, D);
  });
}
