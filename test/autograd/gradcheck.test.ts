/**
 * Every differentiable op, on every backend: analytical gradients from the autograd tape vs
 * central differences of an independent float64 implementation of the op.
 */
import { describe, it } from 'node:test';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import * as E from '../../src/autograd/ops/elementwise.js';
import { matmul, linear, segmentLinear, crossLinear } from '../../src/autograd/ops/linear.js';
import { sum, mean } from '../../src/autograd/ops/reduce.js';
import { concat, slice, split, reshape } from '../../src/autograd/ops/layout.js';
import { softmax, logSoftmax, segmentSoftmax, segmentLogSoftmax } from '../../src/autograd/ops/softmax.js';
import { segmentSum, segmentMean, pairDiff, segmentBroadcast, segmentWeightedSum } from '../../src/autograd/ops/segment.js';
import { TargetAttention } from '../../src/nn/targetAttention.js';
import { targetAttentionUnit } from '../../src/autograd/ops/attention.js';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { layerNorm, batchNorm } from '../../src/autograd/ops/norm.js';
import { dropout } from '../../src/autograd/ops/dropout.js';
import type { Activation } from '../../src/backend/kernels.js';
import { assertGradcheck } from '../helpers/gradcheck.js';
import { testBackends, withBackend } from '../helpers/backends.js';

type F64Op = (xs: Float64Array[]) => Float64Array;

interface Input {
  shape: number[];
  /** Value generator (default uniform(−1, 1)). */
  gen?: (rng: Rng) => number;
  /** Not differentiated (labels, weights). */
  constant?: boolean;
}

const rng0 = new Rng(42);

/**
 * Checks d(Σ r ⊙ op(x))/dx from autograd against float64 central differences of `ref`.
 */
function check(label: string, inputs: Input[], op: (ts: Tensor[]) => Tensor, ref: F64Op, tol = 2e-3): void {
  const values = inputs.map((inp) => {
    const n = inp.shape.reduce((a, b) => a * b, 1);
    const g = inp.gen ?? ((r: Rng) => r.uniform() * 2 - 1);
    return Float64Array.from({ length: n }, () => g(rng0));
  });
  const tensors = inputs.map((inp, i) => new Tensor(Float32Array.from(values[i]!), inp.shape, !inp.constant));
  // Round inputs to float32 so both sides see the same point.
  values.forEach((v, i) => v.set(tensors[i]!.data));
  const out = op(tensors);
  const r = Float32Array.from({ length: out.size }, () => rng0.uniform() * 2 - 1);
  const loss = sum(E.mul(out, new Tensor(r, out.shape)));
  backward(loss);
  const grads = tensors.map((t, i) => (inputs[i]!.constant ? null : Float64Array.from(t.grad ?? new Float32Array(t.size))));
  endStep();
  const f = (xs: Float64Array[]): number => {
    const y = ref(xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * r[i]!;
    return s;
  };
  assertGradcheck(f, values, grads, { eps: 1e-5, atol: tol, rtol: tol }, label);
}

// ---------------------------------------------------------------- float64 references
const map = (x: Float64Array, fn: (v: number) => number): Float64Array => x.map(fn);
const sig = (v: number): number => 1 / (1 + Math.exp(-v));
const smeluF = (b: number) => (v: number): number => (v <= -b ? 0 : v >= b ? v : ((v + b) * (v + b)) / (4 * b));
const actF: Record<Activation, (v: number) => number> = {
  none: (v) => v, relu: (v) => Math.max(0, v), sigmoid: sig, tanh: Math.tanh, smelu: smeluF(0.7),
};

function gemm64(a: Float64Array, b: Float64Array, M: number, N: number, K: number, ta: boolean, tb: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += (ta ? a[k * M + i]! : a[i * K + k]!) * (tb ? b[j * K + k]! : b[k * N + j]!);
    c[i * N + j] = s;
  }
  return c;
}

/**
 * DIN's attention over the concatenation [e_b, e_t, e_b − e_t, e_b ⊙ e_t] in float64: per event
 * y = act(x·W1 + b1) (W1 [4D, H]), a = head(y); pooled[s] = Σ_p a_p·e_b,p → [S, D].
 */
function attention64(offsets: Int32Array, D: number, H: number, eb: Float64Array, et: Float64Array, w1: Float64Array, b1: Float64Array,
  act: (v: number) => number, head: (y: number[]) => number): Float64Array {
  const S = offsets.length - 1;
  const out = new Float64Array(S * D);
  for (let s = 0; s < S; s++) for (let p = offsets[s]!; p < offsets[s + 1]!; p++) {
    const x: number[] = [];
    for (let d = 0; d < D; d++) x.push(eb[p * D + d]!);
    for (let d = 0; d < D; d++) x.push(et[s * D + d]!);
    for (let d = 0; d < D; d++) x.push(eb[p * D + d]! - et[s * D + d]!);
    for (let d = 0; d < D; d++) x.push(eb[p * D + d]! * et[s * D + d]!);
    const y: number[] = [];
    for (let h = 0; h < H; h++) {
      let z = b1[h]!;
      for (let i = 0; i < 4 * D; i++) z += w1[i * H + h]! * x[i]!;
      y.push(act(z));
    }
    const a = head(y);
    for (let d = 0; d < D; d++) out[s * D + d] += a * eb[p * D + d]!;
  }
  return out;
}

/** Broadcast index of flat output index o in an input of shape s (right-aligned). */
function bcastIndex(o: number, out: number[], s: number[]): number {
  let idx = 0;
  let stride = 1;
  let rem = o;
  for (let d = out.length - 1; d >= 0; d--) {
    const coord = rem % out[d]!;
    rem = Math.floor(rem / out[d]!);
    const sd = d - (out.length - s.length);
    if (sd >= 0) {
      if (s[sd]! !== 1) idx += coord * stride;
      stride *= s[sd]!;
    }
  }
  return idx;
}

function binary64(fn: (a: number, b: number) => number, as: number[], bs: number[], out: number[]): F64Op {
  const n = out.reduce((a, b) => a * b, 1);
  return ([a, b]) => Float64Array.from({ length: n }, (_, o) => fn(a![bcastIndex(o, out, as)]!, b![bcastIndex(o, out, bs)]!));
}

function softmax64(x: Float64Array, outer: number, len: number, inner: number, log: boolean): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    let m = -Infinity;
    for (let a = 0; a < len; a++) m = Math.max(m, x[(o * len + a) * inner + i]!);
    let s = 0;
    for (let a = 0; a < len; a++) s += Math.exp(x[(o * len + a) * inner + i]! - m);
    for (let a = 0; a < len; a++) {
      const v = x[(o * len + a) * inner + i]! - m;
      y[(o * len + a) * inner + i] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return y;
}

const posGen = (r: Rng): number => 0.2 + r.uniform() * 2;
/** Values away from 0 so relu / abs / smelu kinks are not hit by the finite difference. */
const awayFromKinks = (r: Rng): number => (r.uniform() < 0.5 ? -1 : 1) * (0.05 + r.uniform());

for (const k of testBackends()) {
  describe(`autograd gradients (${k.name} backend)`, () => {
    const run = (name: string, fn: () => void): void => {
      it(name, () => withBackend(k, fn));
    };

    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      run(`matmul ta=${ta} tb=${tb}`, () => {
        const [M, N, K] = [5, 4, 3];
        check('matmul', [{ shape: ta ? [K, M] : [M, K] }, { shape: tb ? [N, K] : [K, N] }],
          ([a, b]) => matmul(a!, b!, ta, tb), ([a, b]) => gemm64(a!, b!, M, N, K, ta, tb));
      });
    }

    for (const act of ['none', 'relu', 'sigmoid', 'tanh', 'smelu'] as Activation[]) {
      run(`linear + bias + ${act}`, () => {
        const [M, K, N] = [6, 5, 4];
        check(`linear ${act}`, [{ shape: [M, K] }, { shape: [K, N] }, { shape: [N] }],
          ([x, w, b]) => linear(x!, w!, b!, act, 0.7),
          ([x, w, b]) => {
            const z = gemm64(x!, w!, M, N, K, false, false);
            return z.map((v, i) => actF[act](v + b![i % N]!));
          });
      });
    }

    const cross64 = (x0: Float64Array, x: Float64Array, a: Float64Array, w: Float64Array, b: Float64Array, M: number, K: number, D: number): Float64Array => {
      const z = gemm64(a, w, M, D, K, false, false);
      return z.map((v, i) => x0[i]! * (v + b[i % D]!) + x[i]!);
    };
    run('cross layer x0 ⊙ (a·W + b) + x (fused)', () => {
      const [M, K, D] = [5, 3, 4];
      check('crossLinear', [{ shape: [M, D] }, { shape: [M, D] }, { shape: [M, K] }, { shape: [K, D] }, { shape: [D] }],
        ([x0, x, a, w, b]) => crossLinear(x0!, x!, a!, w!, b!), ([x0, x, a, w, b]) => cross64(x0!, x!, a!, w!, b!, M, K, D));
    });
    run('cross layer, first layer: x0 = x = a (one gradient buffer for three operands)', () => {
      const [M, D] = [6, 4];
      check('crossLinear x0=x=a', [{ shape: [M, D] }, { shape: [D, D] }, { shape: [D] }],
        ([x, w, b]) => crossLinear(x!, x!, x!, w!, b!), ([x, w, b]) => cross64(x!, x!, x!, w!, b!, M, D, D));
    });

    const unaries: [string, (t: Tensor) => Tensor, (v: number) => number, ((r: Rng) => number)?][] = [
      ['relu', E.relu, (v) => Math.max(0, v), awayFromKinks],
      ['sigmoid', E.sigmoid, sig],
      ['tanh', E.tanh, Math.tanh],
      ['softplus', E.softplus, (v) => Math.log1p(Math.exp(v))],
      ['smelu', (t) => E.smelu(t, 0.5), smeluF(0.5), (r) => -2 + 4 * r.uniform()],
      ['exp', E.exp, Math.exp],
      ['log', E.log, Math.log, posGen],
      ['neg', E.neg, (v) => -v],
      ['abs', E.abs, Math.abs, awayFromKinks],
      ['sqrt', E.sqrt, Math.sqrt, posGen],
      ['square', E.square, (v) => v * v],
    ];
    for (const [name, op, f, gen] of unaries) {
      run(`unary ${name}`, () => check(name, [{ shape: [3, 7], gen }], ([x]) => op(x!), ([x]) => map(x!, f)));
    }

    const bshapes: [number[], number[]][] = [[[3, 4], [3, 4]], [[3, 4], [4]], [[2, 1, 4], [3, 1]], [[1], [2, 3]]];
    const bops: [string, (a: Tensor, b: Tensor) => Tensor, (a: number, b: number) => number][] = [
      ['add', E.add, (a, b) => a + b], ['sub', E.sub, (a, b) => a - b], ['mul', E.mul, (a, b) => a * b], ['div', E.div, (a, b) => a / b],
    ];
    for (const [name, op, f] of bops) {
      for (const [as, bs] of bshapes) {
        run(`${name} ${JSON.stringify(as)} ⊕ ${JSON.stringify(bs)}`, () => {
          const n = Math.max(as.length, bs.length);
          const out = Array.from({ length: n }, (_, i) => Math.max(as[as.length - n + i] ?? 1, bs[bs.length - n + i] ?? 1));
          check(name, [{ shape: as }, { shape: bs, gen: name === 'div' ? posGen : undefined }], ([a, b]) => op(a!, b!), binary64(f, as, bs, out));
        });
      }
    }

    run('mulScalar', () => check('mulScalar', [{ shape: [3, 5] }, { shape: [1] }], ([x, s]) => E.mulScalar(x!, s!),
      ([x, s]) => map(x!, (v) => v * s![0]!)));

    run('affine', () => check('affine', [{ shape: [5] }], ([x]) => E.affine(x!, -2.5, 0.3), ([x]) => map(x!, (v) => -2.5 * v + 0.3)));

    run('sum all / mean all', () => {
      check('sum', [{ shape: [3, 4] }], ([x]) => sum(x!), ([x]) => Float64Array.of(x!.reduce((a, b) => a + b, 0)));
      check('mean', [{ shape: [3, 4] }], ([x]) => mean(x!), ([x]) => Float64Array.of(x!.reduce((a, b) => a + b, 0) / 12));
    });
    for (const axis of [0, 1, 2]) {
      run(`sum / mean along axis ${axis}`, () => {
        const shape = [2, 3, 4];
        const [outer, len, inner] = [shape.slice(0, axis).reduce((a, b) => a * b, 1), shape[axis]!, shape.slice(axis + 1).reduce((a, b) => a * b, 1)];
        const ref = (m: boolean): F64Op => ([x]) => {
          const y = new Float64Array(outer * inner);
          for (let o = 0; o < outer; o++) for (let a = 0; a < len; a++) for (let i = 0; i < inner; i++) y[o * inner + i] += x![(o * len + a) * inner + i]! / (m ? len : 1);
          return y;
        };
        check('sum axis', [{ shape }], ([x]) => sum(x!, axis), ref(false));
        check('mean axis', [{ shape }], ([x]) => mean(x!, axis, true), ref(true));
      });
    }

    run('concat / slice / split / reshape', () => {
      check('concat axis 1', [{ shape: [2, 3] }, { shape: [2, 2] }], ([a, b]) => concat([a!, b!], 1), ([a, b]) => Float64Array.of(
        a![0]!, a![1]!, a![2]!, b![0]!, b![1]!, a![3]!, a![4]!, a![5]!, b![2]!, b![3]!));
      check('concat axis 0', [{ shape: [1, 2] }, { shape: [2, 2] }], ([a, b]) => concat([a!, b!], 0), ([a, b]) => Float64Array.of(...a!, ...b!));
      check('slice', [{ shape: [2, 4] }], ([x]) => slice(x!, 1, 1, 3), ([x]) => Float64Array.of(x![1]!, x![2]!, x![5]!, x![6]!));
      check('split', [{ shape: [2, 3] }], ([x]) => { const [p, q] = split(x!, [1, 2], 1); return concat([q!, p!], 1); },
        ([x]) => Float64Array.of(x![1]!, x![2]!, x![0]!, x![4]!, x![5]!, x![3]!));
      check('reshape', [{ shape: [2, 3] }], ([x]) => E.square(reshape(x!, [3, -1])), ([x]) => map(x!, (v) => v * v));
    });

    for (const log of [false, true]) {
      run(`${log ? 'log-' : ''}softmax along axes`, () => {
        check('softmax last', [{ shape: [3, 5] }], ([x]) => (log ? logSoftmax : softmax)(x!, -1), ([x]) => softmax64(x!, 3, 5, 1, log));
        check('softmax axis 0', [{ shape: [3, 5] }], ([x]) => (log ? logSoftmax : softmax)(x!, 0), ([x]) => softmax64(x!, 1, 3, 5, log));
      });
      run(`segment ${log ? 'log-' : ''}softmax (with an empty and a single-row segment)`, () => {
        const offsets = Int32Array.of(0, 3, 3, 4, 8);
        const ref: F64Op = ([x]) => {
          const y = new Float64Array(x!.length);
          for (let s = 0; s + 1 < offsets.length; s++) {
            const [a, b] = [offsets[s]!, offsets[s + 1]!];
            y.set(softmax64(x!.subarray(a * 2, b * 2), 1, b - a, 2, log), a * 2);
          }
          return y;
        };
        check('segment softmax', [{ shape: [8, 2] }], ([x]) => (log ? segmentLogSoftmax : segmentSoftmax)(x!, offsets), ref);
      });
    }

    for (const m of [false, true]) {
      run(`segment ${m ? 'mean' : 'sum'}`, () => {
        const offsets = Int32Array.of(0, 2, 2, 5);
        check('segment reduce', [{ shape: [5, 3] }], ([x]) => (m ? segmentMean : segmentSum)(x!, offsets), ([x]) => {
          const y = new Float64Array(9);
          for (let s = 0; s < 3; s++) {
            const n = offsets[s + 1]! - offsets[s]!;
            for (let r = offsets[s]!; r < offsets[s + 1]!; r++) for (let d = 0; d < 3; d++) y[s * 3 + d] += x![r * 3 + d]! / (m ? n : 1);
          }
          return y;
        });
      });
    }

    run('segment broadcast (empty segments included)', () => {
      const offsets = Int32Array.of(0, 2, 2, 5, 6);
      check('segmentBroadcast', [{ shape: [4, 3] }], ([x]) => segmentBroadcast(x!, offsets), ([x]) => {
        const y = new Float64Array(6 * 3);
        for (let s = 0; s < 4; s++) for (let p = offsets[s]!; p < offsets[s + 1]!; p++) for (let d = 0; d < 3; d++) y[p * 3 + d] = x![s * 3 + d]!;
        return y;
      });
    });

    run('segment weighted sum (empty segments included)', () => {
      const offsets = Int32Array.of(0, 2, 2, 5, 6);
      check('segmentWeightedSum', [{ shape: [6, 3] }, { shape: [6, 1] }], ([x, w]) => segmentWeightedSum(x!, w!, offsets), ([x, w]) => {
        const y = new Float64Array(4 * 3);
        for (let s = 0; s < 4; s++) for (let p = offsets[s]!; p < offsets[s + 1]!; p++) for (let d = 0; d < 3; d++) y[s * 3 + d] += w![p]! * x![p * 3 + d]!;
        return y;
      });
    });

    run('segment linear: Σ x_i·W_i + r per segment (empty segments included)', () => {
      const offsets = Int32Array.of(0, 2, 2, 5);
      const [P, N] = [5, 3];
      check('segmentLinear', [{ shape: [P, 2] }, { shape: [2, N] }, { shape: [P, 4] }, { shape: [4, N] }, { shape: [3, N] }],
        ([x0, w0, x1, w1, r]) => segmentLinear([[x0!, w0!], [x1!, w1!]], r!, offsets), ([x0, w0, x1, w1, r]) => {
          const y = new Float64Array(P * N);
          for (let s = 0; s < 3; s++) for (let p = offsets[s]!; p < offsets[s + 1]!; p++) for (let n = 0; n < N; n++) {
            let v = r![s * N + n]!;
            for (let k = 0; k < 2; k++) v += x0![p * 2 + k]! * w0![k * N + n]!;
            for (let k = 0; k < 4; k++) v += x1![p * 4 + k]! * w1![k * N + n]!;
            y[p * N + n] = v;
          }
          return y;
        });
    });

    run('DIN target attention unit (behaviours, targets and the attention MLP)', () => {
      // Rows with 3, 0 and 2 events; dim 3; attention MLP 12 → 4 → 2 (sigmoid, smooth) → 1: two
      // hidden layers, so the composed path (segmentLinear on the first layer's blocks).
      const offsets = Int32Array.of(0, 3, 3, 5);
      const [P, S, D, H, H2] = [5, 3, 3, 4, 2];
      const unit = new TargetAttention({ dim: D, hidden: [H, H2], activation: 'sigmoid' }, new Rng(7));
      const l1 = unit.input as unknown as { W: Tensor; b: Tensor };
      const [l2, l3] = unit.mlp.layers.map((l) => ({ W: Float64Array.from(l.W!.data), b: Float64Array.from(l.b!.data) }));
      // The first layer's parameters are inputs of the check too: the unit reads the tensors handed in.
      check('targetAttention', [{ shape: [P, D] }, { shape: [S, D] }, { shape: [4 * D, H] }, { shape: [H] }], ([eb, et, w, b]) => {
        l1!.W = w!;
        l1!.b = b!;
        return unit.forward(eb!, et!, offsets);
      }, ([eb, et, w, b]) => attention64(offsets, D, H, eb!, et!, w!, b!, sig, (y) => {
        let a = l3!.b[0]!;
        for (let i = 0; i < H2; i++) {
          let z = l2!.b[i]!;
          for (let h = 0; h < H; h++) z += y[h]! * l2!.W[h * H2 + i]!;
          a += sig(z) * l3!.W[i]!;
        }
        return a;
      }));
    });

    // The fused kernel (one hidden layer), every input differentiated (the output unit too).
    // Shapes: h = 5 and d = 3 (the native kernel pads h to 16), h = 20 and d = 17 (more than one
    // 16-float vector each).
    for (const [act, D, H] of [['sigmoid', 3, 5], ['tanh', 17, 20], ['smelu', 3, 5], ['none', 2, 3]] as const) {
      run(`fused DIN attention unit: ${act}, d=${D}, h=${H}`, () => {
        const offsets = Int32Array.of(0, 3, 3, 5, 9);
        const [P, S] = [9, 4];
        const beta = 0.7;
        const param = act === 'smelu' ? beta : 0;
        const scale = (r: Rng): number => (r.uniform() * 2 - 1) * (D > 8 ? 0.4 : 1);
        check(`targetAttention ${act}`, [{ shape: [P, D], gen: scale }, { shape: [S, D], gen: scale }, { shape: [4 * D, H], gen: scale },
          { shape: [H] }, { shape: [H, 1] }, { shape: [1] }],
        ([eb, et, w1, b1, w2, b2]) => targetAttentionUnit(eb!, et!, offsets, w1!, b1!, w2!, b2!, act, param),
        ([eb, et, w1, b1, w2, b2]) => attention64(offsets, D, H, eb!, et!, w1!, b1!, act === 'smelu' ? smeluF(beta) : actF[act],
          (y) => y.reduce((a, v, h) => a + v * w2![h]!, b2![0]!)));
      });
    }

    run('pairDiff', () => {
      const pi = Int32Array.of(0, 0, 3, 2);
      const pj = Int32Array.of(1, 2, 1, 2);
      check('pairDiff', [{ shape: [4] }], ([z]) => pairDiff(z!, pi, pj), ([z]) => Float64Array.from(pi, (i, p) => z![i]! - z![pj[p]!]!));
    });

    run('weighted BCE with logits', () => {
      const y = Float32Array.of(1, 0, 1, 0, 1);
      const w = Float32Array.of(0.5, 2, 1, 1, 3);
      check('bce', [{ shape: [5], gen: (r) => -4 + 8 * r.uniform() }], ([z]) => bceWithLogits(z!, y, w), ([z]) => {
        let s = 0;
        let sw = 0;
        for (let i = 0; i < 5; i++) {
          const zi = z![i]!;
          s += w[i]! * (Math.max(zi, 0) + Math.log1p(Math.exp(-Math.abs(zi))) - y[i]! * zi);
          sw += w[i]!;
        }
        return Float64Array.of(s / sw);
      });
    });

    run('layer norm', () => {
      const [R, D] = [3, 5];
      check('layerNorm', [{ shape: [R, D] }, { shape: [D] }, { shape: [D] }], ([x, g, b]) => layerNorm(x!, g!, b!, 1e-5), ([x, g, b]) => {
        const y = new Float64Array(R * D);
        for (let r = 0; r < R; r++) {
          const row = x!.subarray(r * D, r * D + D);
          const mu = row.reduce((a, v) => a + v, 0) / D;
          const vr = row.reduce((a, v) => a + (v - mu) ** 2, 0) / D;
          for (let d = 0; d < D; d++) y[r * D + d] = ((row[d]! - mu) / Math.sqrt(vr + 1e-5)) * g![d]! + b![d]!;
        }
        return y;
      });
    });

    run('batch norm (training)', () => {
      const [R, D] = [6, 3];
      const st = { runMean: new Float32Array(D), runVar: new Float32Array(D).fill(1), momentum: 0.1, eps: 1e-5 };
      check('batchNorm', [{ shape: [R, D] }, { shape: [D] }, { shape: [D] }], ([x, g, b]) => batchNorm(x!, g!, b!, st, true), ([x, g, b]) => {
        const y = new Float64Array(R * D);
        for (let d = 0; d < D; d++) {
          let mu = 0;
          for (let r = 0; r < R; r++) mu += x![r * D + d]! / R;
          let vr = 0;
          for (let r = 0; r < R; r++) vr += (x![r * D + d]! - mu) ** 2 / R;
          for (let r = 0; r < R; r++) y[r * D + d] = ((x![r * D + d]! - mu) / Math.sqrt(vr + 1e-5)) * g![d]! + b![d]!;
        }
        return y;
      });
    });

    run('dropout (mask fixed by seed)', () => {
      // The mask is a deterministic function of (seed, index): recompute it from a forward pass.
      const probe = dropout(new Tensor(new Float32Array(40).fill(1), [40], true), 0.3, 99);
      const mask = Float64Array.from(probe.data);
      endStep();
      check('dropout', [{ shape: [40] }], ([x]) => dropout(x!, 0.3, 99), ([x]) => x!.map((v, i) => v * mask[i]!));
    });
  });
}
