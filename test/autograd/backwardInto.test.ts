/**
 * BackwardOptions.into (autograd/tape.ts): a pass sends the listed parameters' gradients to
 * fresh zeroed arena buffers made at their first write, leaves their own buffers alone, and
 * leaves an unreached entry null.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { backward, clearIntermediateGradients, endStep } from '../../src/autograd/tape.js';
import { linear } from '../../src/autograd/ops/linear.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { Parameter, Tensor } from '../../src/tensor/tensor.js';

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
