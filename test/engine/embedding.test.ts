import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, EmbeddingTable } from '../../src/tensor/tensor.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { embeddingLookup, embeddingBag, reducePending } from '../../src/autograd/ops/embedding.js';
import { mul } from '../../src/autograd/ops/elementwise.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { segmentPairs } from '../../src/autograd/ops/segment.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { AdaGrad } from '../../src/optim/adagrad.js';
import { testBackends, withBackend } from '../helpers/backends.js';

function tableOf(rows: number, dim: number): EmbeddingTable {
  const t = new EmbeddingTable('t', rows, dim);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (i % 7) * 0.1 - 0.3;
  return t;
}

/** loss = Σ out ⊙ r with r[i] = i + 1, so dOut is known exactly. */
function lossOf(out: Tensor): Tensor {
  return sum(mul(out, new Tensor(Float32Array.from({ length: out.size }, (_, i) => i + 1), out.shape)));
}

for (const k of testBackends()) {
  describe(`sparse embeddings (${k.name})`, () => {
    it('lookup backward gives unique ascending rows with summed gradients', () => withBackend(k, () => {
      const t = tableOf(10, 2);
      const ids = Int32Array.of(7, 2, 7, 0);
      const out = embeddingLookup(t, ids);
      assert.deepEqual(Array.from(out.data.subarray(0, 2)), Array.from(t.data.subarray(14, 16)));
      backward(lossOf(out));
      const g = t.sparseGrad(reducePending(t));
      endStep();
      assert.equal(g.count, 3);
      assert.deepEqual(Array.from(g.rows.subarray(0, 3)), [0, 2, 7]);
      // dOut rows: id7 → [1,2] and [5,6]; id2 → [3,4]; id0 → [7,8]
      assert.deepEqual(Array.from(g.values.subarray(0, 6)), [7, 8, 3, 4, 6, 8]);
      t.zeroGrad();
    }));

    it('bag (weighted mean) backward and two lookups of one table merge', () => withBackend(k, () => {
      const t = tableOf(6, 1);
      const a = embeddingBag(t, Int32Array.of(1, 3, 3, 5), Int32Array.of(0, 3, 4), Float32Array.of(1, 2, 0.5, 1), true);
      const b = embeddingLookup(t, Int32Array.of(5, 0));
      backward(sum(mul(a, new Tensor(Float32Array.of(3, 10), [2, 1]))));
      backward(lossOf(b));
      const g = t.sparseGrad(reducePending(t));
      endStep();
      // bag 0 = mean(w·t[1], 2·t[3], 0.5·t[3]) with dOut 3 → d/dt[1] = 1, d/dt[3] = (2+0.5)·3/3 = 2.5
      // bag 1 = t[5] (weight 1, mean over 1) with dOut 10; lookup: t[5] dOut 1, t[0] dOut 2
      assert.deepEqual(Array.from(g.rows.subarray(0, g.count)), [0, 1, 3, 5]);
      assert.deepEqual(Array.from(g.values.subarray(0, g.count)), [2, 1, 2.5, 11]);
      t.zeroGrad();
    }));

    it('optimisers update only the touched rows (SGD, AdaGrad, lazy Adam)', () => withBackend(k, () => {
      for (const make of [
        (t: EmbeddingTable) => new SGD([{ tables: [t] }], { lr: 0.1 }),
        (t: EmbeddingTable) => new AdaGrad([{ tables: [t] }], { lr: 0.1 }),
        (t: EmbeddingTable) => new AdaGrad([{ tables: [t] }], { lr: 0.1, rowwise: true }),
        (t: EmbeddingTable) => new Adam([{ tables: [t] }], { lr: 0.1 }),
      ]) {
        const t = tableOf(50, 3);
        const before = t.data.slice();
        const opt = make(t);
        for (let step = 0; step < 3; step++) {
          opt.zeroGrad();
          backward(lossOf(embeddingLookup(t, Int32Array.of(4, 9, 4))));
          opt.step();
          endStep();
        }
        for (let r = 0; r < 50; r++) {
          const changed = [0, 1, 2].some((d) => t.data[r * 3 + d] !== before[r * 3 + d]);
          assert.equal(changed, r === 4 || r === 9, `row ${r} (${opt.constructor.name})`);
        }
      }
    }));

    it('a 30M-row table trains without any table-sized gradient', () => withBackend(k, () => {
      const rows = 30_000_000;
      const t = new EmbeddingTable('big', rows, 1);
      const ids = Int32Array.of(rows - 1, 0, 12_345_678, rows - 1);
      const opt = new SGD([{ tables: [t] }], { lr: 1 });
      opt.zeroGrad();
      backward(lossOf(embeddingLookup(t, ids)));
      const g = t.sparseGrad(reducePending(t));
      assert.ok(g.values.length <= ids.length, `gradient buffer has ${g.values.length} floats`);
      opt.step();
      endStep();
      assert.equal(t.data[rows - 1], -(1 + 4));
      assert.equal(t.data[0], -2);
      assert.equal(t.data[12_345_678], -3);
      assert.equal(t.data[1], 0);
    }));

    it('out-of-range and negative ids are clear errors', () => withBackend(k, () => {
      const t = tableOf(10, 2);
      assert.throws(() => embeddingLookup(t, Int32Array.of(1, 10)), /id 10 .*position 1|position 1.*id 10/);
      assert.throws(() => embeddingLookup(t, Int32Array.of(-3)), /-3/);
      assert.throws(() => embeddingBag(t, Int32Array.of(1, 99), Int32Array.of(0, 2)), /99/);
      endStep();
    }));
  });
}

describe('segmentPairs (RankNet pairs within lists)', () => {
  it('enumerates higher-label × lower-label pairs per segment only', () => {
    // segment 0: labels [1, 0, 2]; segment 1: [0, 0] (one class → no pairs); segment 2: [1, 0]
    const { pi, pj } = segmentPairs(Int32Array.of(0, 3, 5, 7), Float32Array.of(1, 0, 2, 0, 0, 1, 0));
    assert.deepEqual(Array.from(pi), [0, 2, 2, 5]);
    assert.deepEqual(Array.from(pj), [1, 0, 1, 6]);
    assert.throws(() => segmentPairs(Int32Array.of(0, 2), Float32Array.of(1, 0, 1)), /offsets must run from 0 to 3/);
  });
});
