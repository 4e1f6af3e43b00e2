/**
 * BackwardOptions.into (autograd/tape.ts): a pass sends the listed parameters' gradients to
 * arena buffers taken at their first write (or, with intoOwn, to their own buffers whatever they
 * held), leaves their own buffers alone, and leaves an unreached entry null. A fresh buffer is
 * set by its first write, so stale contents never show.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { backward, clearIntermediateGradients, endStep } from '../../src/autograd/tape.js';
import { linear, matmul } from '../../src/autograd/ops/linear.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { Parameter, Tensor } from '../../src/tensor/tensor.js';
import { testBackends, withBackend } from '../helpers/backends.js';
import { poisonArena } from '../helpers/poisonArena.js';

it('into: gradients go to buffers made at first write; own buffers untouched; unreached stays null', () => {
  const x = new Tensor(Float32Array.from([1, 2, -1, 0.5, 3, 1]), [2, 3]);
  const W = new Parameter('W', Float32Array.from([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]), [3, 2]);
  const U = new Parameter('U', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
  const a = sum(linear(x, W, null));
  const b = sum(linear(x, U, null));
  W.grad.fill(7); // stale contents must neither leak into nor be changed by the redirected pass
  const into = new Map<Tensor, Float32Array | null>([[W, null], [U, null]]);
  backward(a, undefined, { retain: true, into });
  const g = into.get(W)!;
  // d/dW Σ x·W = xᵀ·1: column sums of x per input row, the same for both outputs.
  assert.deepEqual(Array.from(g), [1 + 0.5, 1 + 0.5, 2 + 3, 2 + 3, -1 + 1, -1 + 1]);
  assert.ok(W.grad.every((v) => v === 7), "W's own buffer is left alone");
  assert.equal(into.get(U), null, 'U is not reached by a');
  // Without `into`, the next pass accumulates into the parameters' own buffers as usual.
  clearIntermediateGradients();
  U.grad.fill(0);
  backward(b, undefined, { retain: true });
  assert.deepEqual(Array.from(U.grad), Array.from(g));
  endStep();
});

for (const k of testBackends()) it(`a fresh gradient buffer is set by its first write, never read: stale arena buffers and intoOwn give the zeroed result (${k.name})`, () => withBackend(k, () => {
  // Two layers (the hidden gradient is an intermediate), a parameter read twice (its second
  // write accumulates) and a product with itself (one buffer for both operands of matmul).
  const x = new Tensor(Float32Array.from([1, 2, -1, 0.5, 3, 1]), [2, 3]);
  const W = new Parameter('W', Float32Array.from([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]), [3, 2]);
  const b = new Parameter('b', Float32Array.from([0.25, -0.5]), [2]);
  const V = new Parameter('V', Float32Array.from([1, -1, 0.5, 2]), [2, 2]);
  const loss = (): Tensor => {
    const h = linear(x, W, b, 'relu');
    return sum(matmul(linear(h, V, b), V, false, true));
  };
  const grads = (opts: { into?: boolean; intoOwn?: boolean }): number[][] => {
    const into = new Map<Tensor, Float32Array | null>([[W, null], [b, null], [V, null]]);
    backward(loss(), undefined, opts.into ? { into, intoOwn: opts.intoOwn } : {});
    const out = [W, b, V].map((p) => Array.from(opts.into ? into.get(p)! : p.grad));
    endStep();
    return out;
  };
  for (const p of [W, b, V]) p.grad.fill(0);
  const expected = grads({});
  // d/dV of Σ (h·V + b)·Vᵀ has both of matmul's terms: a single write would miss one.
  assert.ok(expected.every((g) => g.some((v) => v !== 0)));
  poisonArena();
  assert.deepEqual(grads({ into: true }), expected, 'arena buffers taken at first write');
  for (const p of [W, b, V]) p.grad.fill(NaN);
  poisonArena();
  assert.deepEqual(grads({ into: true, intoOwn: true }), expected, 'own buffers with stale contents');
  for (const p of [W, b, V]) p.grad.fill(0);
  poisonArena();
  assert.deepEqual(grads({}), expected, 'intermediate gradients in stale arena buffers');
}));
