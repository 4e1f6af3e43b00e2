/**
 * The fused DCN-v2 cross layer (GEMM epilogue forward, one-pass backward) against the unfused
 * ops it replaces, mul(x0, linear(a, W, b)) + x: the same bits in the output and in every
 * gradient, on each backend, with 1 and 2 threads (sizes span several GEMM tiles, K blocks,
 * row chunks, and the one-row matrix-vector path).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { add, mul } from '../../src/autograd/ops/elementwise.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { crossLinear, linear } from '../../src/autograd/ops/linear.js';
import { CrossNet } from '../../src/nn/crossNet.js';
import { testBackends, withBackend } from '../helpers/backends.js';

function rand(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
}

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

type Variant = 'fused' | 'unfused';

/** Output and gradients of x0 ⊙ (a·W + b) + x under a random projection; `first`: x0 = x = a. */
function run(variant: Variant, M: number, K: number, D: number, first: boolean): Float32Array[] {
  const rng = new Rng(7);
  const x0 = new Tensor(rand(M * D, rng), [M, D], true);
  const x = first ? x0 : new Tensor(rand(M * D, rng), [M, D], true);
  const a = first ? x0 : new Tensor(rand(M * K, rng), [M, K], true);
  const W = new Tensor(rand(K * D, rng), [K, D], true);
  const b = new Tensor(rand(D, rng), [D], true);
  const r = new Tensor(rand(M * D, rng), [M, D]);
  const out = variant === 'fused' ? crossLinear(x0, x, a, W, b) : add(mul(x0, linear(a, W, b)), x);
  backward(sum(mul(out, r)));
  const res = [Float32Array.from(out.data), ...[x0, x, a, W, b].map((t) => Float32Array.from(t.grad!))];
  endStep();
  return res;
}

for (const k of testBackends()) {
  describe(`fused cross layer (${k.name} backend)`, () => {
    const shapes: [number, number, number, boolean][] = k.name === 'native'
      ? [[300, 70, 90, false], [300, 1100, 90, false], [1, 40, 33, false], [517, 64, 64, true]]
      : [[9, 5, 7, false], [1, 4, 6, false], [8, 6, 6, true]];
    for (const [M, K, D, first] of shapes) {
      it(`${M}x${K} · ${K}x${D}${first ? ' (x0 = x = a)' : ''}: same bits as the unfused ops, 1 and 2 threads`, () => withBackend(k, () => {
        const before = k.getThreads();
        try {
          k.setThreads(1);
          const want = run('unfused', M, K, D, first);
          for (const t of [1, 2]) {
            k.setThreads(t);
            const got = run('fused', M, K, D, first);
            got.forEach((g, i) => assert.deepEqual(bitsOf(g), bitsOf(want[i]!), `${t} thread(s), result #${i}`));
          }
        } finally {
          k.setThreads(before);
        }
      }));
    }

    it('CrossNet takes the fused path without ramp or gate, and still predicts what the unfused layers do', () => {
      let fusedCalls = 0;
      const counting = new Proxy(k, {
        get(t, p, r) {
          if (p === 'crossForward') fusedCalls++;
          return Reflect.get(t, p, r) as unknown;
        },
      });
      withBackend(counting, () => {
        const rng = new Rng(3);
        const net = new CrossNet({ dim: 12, layers: 3 }, rng);
        const x0 = new Tensor(rand(5 * 12, rng), [5, 12]);
        const got = Float32Array.from(net.forward(x0).data);
        assert.equal(fusedCalls, 3);
        let x = x0;
        for (const l of net.layers) x = add(mul(x0, l.forward(x)), x);
        assert.deepEqual(bitsOf(got), bitsOf(x.data));
        endStep();
      });
    });
  });
}
