/**
 * dnn with `wide`: the logit is the deep part's plus an LR over the same features (its own table,
 * bias, dense weights and sequence means); without `wide` a DNN initialises exactly as before.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reducePending } from '../../src/autograd/ops/embedding.js';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import type { Batch } from '../../src/data/batch.js';
import { DNN } from '../../src/models/dnn.js';
import { createModel, parseModelConfig } from '../../src/models/registry.js';
import { ConfigError } from '../../src/schema/errors.js';
import { Rng } from '../../src/util/random.js';
import { testBackends, withBackend } from '../helpers/backends.js';

const FIELDS = 3;
const DIMS = { numIds: 30, numFields: FIELDS, denseDim: 2, numSequences: 1 };

function batch(size: number, seed: number): Batch {
  const r = new Rng(seed);
  const lens = Array.from({ length: size }, () => r.int(3));
  const offsets = Int32Array.from({ length: size + 1 }, (_, i) => lens.slice(0, i).reduce((a, b) => a + b, 0));
  return {
    size, numFields: FIELDS, ids: Int32Array.from({ length: size * FIELDS }, (_, i) => (i % FIELDS) * 8 + r.int(8)),
    labels: Float32Array.from({ length: size }, () => (r.uniform() < 0.5 ? 1 : 0)),
    sequences: [{ offsets, ids: Int32Array.from({ length: offsets[size]! }, () => 24 + r.int(6)) }],
    dense: Float32Array.from({ length: size * 2 }, () => r.uniform() * 2 - 1), denseDim: 2,
  };
}

for (const k of testBackends()) {
  describe(`dnn wide & deep (${k.name})`, () => {
    it('logit = deep logit + bias + Σ w[id] + mean of the sequence ids\' w + v·dense; the deep part is the plain DNN\'s', () => withBackend(k, () => {
      const wide = createModel(parseModelConfig({ type: 'dnn', dim: 4, hidden: [8], wide: true, initStd: 0.3 }), DIMS, 5) as DNN;
      const plain = createModel(parseModelConfig({ type: 'dnn', dim: 4, hidden: [8], initStd: 0.3 }), DIMS, 5) as DNN;
      for (const [n, v] of plain.stateDict()) assert.deepEqual(wide.stateDict().get(n), v, `${n}: the deep part initialises as without wide`);
      const lr = wide.wide!;
      lr.bias.data[0] = 0.25;
      lr.v!.data.set([0.5, -1.5]);
      const b = batch(6, 2);
      const z = wide.forward(b).data.slice();
      const deep = plain.forward(b).data.slice();
      endStep();
      for (let i = 0; i < b.size; i++) {
        let want = deep[i]! + 0.25 + 0.5 * b.dense![2 * i]! - 1.5 * b.dense![2 * i + 1]!;
        for (let f = 0; f < FIELDS; f++) want += lr.w.data[b.ids[i * FIELDS + f]!]!;
        const s = b.sequences![0]!;
        const n = s.offsets[i + 1]! - s.offsets[i]!;
        for (let j = s.offsets[i]!; j < s.offsets[i + 1]!; j++) want += lr.w.data[s.ids[j]!]! / n;
        assert.ok(Math.abs(z[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `row ${i}: ${z[i]} vs ${want}`);
      }
    }));

    it('the wide table trains: its touched rows get Σ over their rows of dL/dz', () => withBackend(k, () => {
      const m = createModel(parseModelConfig({ type: 'dnn', dim: 4, hidden: [8], wide: true, initStd: 0.3 }), { ...DIMS, denseDim: 0, numSequences: 0 }, 3) as DNN;
      const b = { ...batch(8, 4), sequences: undefined, dense: undefined, denseDim: 0 };
      const z = m.forward(b);
      const p = z.data.slice();
      backward(bceWithLogits(z, b.labels));
      const g = m.wide!.w.sparseGrad(reducePending(m.wide!.w));
      const want = new Map<number, number>();
      for (let i = 0; i < b.size; i++) {
        const dz = (1 / (1 + Math.exp(-p[i]!)) - b.labels[i]!) / b.size;
        for (let f = 0; f < FIELDS; f++) want.set(b.ids[i * FIELDS + f]!, (want.get(b.ids[i * FIELDS + f]!) ?? 0) + dz);
      }
      assert.equal(g.count, want.size);
      for (let r = 0; r < g.count; r++) assert.ok(Math.abs(g.values[r]! - want.get(g.rows[r]!)!) < 1e-6, `row ${g.rows[r]}`);
      endStep();
    }));
  });
}

describe('dnn wide: config', () => {
  it('wide with the two-logit head is a config error naming the key', () => {
    assert.throws(() => parseModelConfig({ type: 'dnn', wide: true, logits: 2 }), (e: unknown) => e instanceof ConfigError && /model\.wide: wide adds to a one-logit head/.test(e.message));
    assert.throws(() => parseModelConfig({ type: 'dcnv2', wide: true }), /model\.wide: not a setting of model type 'dcnv2'/);
  });
});
