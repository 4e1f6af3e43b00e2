/** Gradient probes on scripted cases where ∂L/∂z and the row gradients are known exactly. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingTable, Parameter, Tensor } from '../../src/tensor/tensor.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { add, mul } from '../../src/autograd/ops/elementwise.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { embeddingLookup } from '../../src/autograd/ops/embedding.js';
import * as L from '../../src/losses/index.js';
import { assertClose, assertNear, f32, i32 } from '../helpers/close.js';
import { testBackends, withBackend } from '../helpers/backends.js';

for (const k of testBackends()) {
  describe(`gradient probes (${k.name} backend)`, () => {
    it('logit, embedding-row and layer-row gradient norms', () => withBackend(k, () => {
      const table = new EmbeddingTable('emb', 5, 2);
      const W = new Parameter('mlp0.W', new Float32Array(6), [3, 2]);
      const probe = new L.GradientProbe({ embeddings: [table], layers: { mlp0: W } });
      // L = Σ c ⊙ z + Σ C ⊙ E with E = rows [1, 3, 1] of the table: every gradient is a constant
      const z = new Tensor(f32([0.3, -0.2, 0.9, 1.1]), [4], true);
      const labels = f32([1, 0, 0, 1]);
      const c = f32([0.5, -1, 3, -2]); // ∂L/∂z = c
      const E = embeddingLookup(table, i32([1, 3, 1]));
      const C = f32([3, 0, 6, 8, 0, 4]); // rows: id 1 → [3,0]+[0,4] = [3,4] (5), id 3 → [6,8] (10)
      backward(add(sum(mul(probe.watch(z, labels), new Tensor(c, [4]))), sum(mul(E, new Tensor(C, [3, 2])))));
      W.grad.set([3, 4, 0, 0, 5, 12]); // row norms 5, 0, 13
      assertClose(z.grad!, c, 0, 0, 'the capture passes ∂L/∂z on to z');
      const rec = probe.read();
      endStep();
      assertNear(rec.grad_neg_logit!, (1 + 3) / 2);
      assertNear(rec.grad_pos_logit!, (0.5 + 2) / 2);
      assertNear(rec.grad_emb_mean!, 7.5);
      assert.equal(rec.grad_emb_p90, 10);
      assertNear(rec.grad_mlp0_mean!, 6);
      assert.equal(rec.grad_mlp0_p90, 13);
      // the captured gradient outlives endStep and serialises as JSON
      assertClose(probe.logitGrad!, c, 0, 0);
      assert.doesNotThrow(() => JSON.parse(JSON.stringify(rec)));
      table.zeroGrad();
    }));

    it('JRC rows use the L2 norm of both logits; empty classes give null', () => withBackend(k, () => {
      assert.deepEqual(L.logitGradNorms(f32([3, 4, 1, 0, 0, -2]), f32([1, 0, 0])), { pos: 5, neg: 1.5 });
      assert.deepEqual(L.logitGradNorms(f32([1, -1]), f32([0, 0])), { pos: null, neg: 1 });
      assert.deepEqual(L.meanP90(Float64Array.from({ length: 10 }, (_, i) => 10 - i)), { mean: 5.5, p90: 9 });
    }));

    it('BCE gives negatives ∂L/∂z = p/N: the probe sees it', () => withBackend(k, () => {
      const probe = new L.GradientProbe();
      const z = new Tensor(f32([0, 0, Math.log(3), 0]), [4], true);
      const labels = f32([1, 0, 0, 0]);
      backward(L.weightedBce(probe.watch(z, labels), { labels }));
      endStep();
      const rec = probe.read();
      // negatives: p = [½, ¾, ½] / 4 → mean (½ + ¾ + ½)/3/4; positive: |p − 1|/4 = ⅛
      assertNear(rec.grad_neg_logit!, (0.5 + 0.75 + 0.5) / 3 / 4, 1e-6, 1e-4);
      assertNear(rec.grad_pos_logit!, 0.125, 1e-6, 1e-4);
    }));
  });
}
