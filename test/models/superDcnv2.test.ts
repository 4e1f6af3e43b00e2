/**
 * The efficiency search's super-network: a masked forward / backward is the forward / backward
 * of an ordinary, separately built DCN-v2 of the candidate's sizes holding the same weights
 * (outputs and every gradient: bit-identical on the reference kernels, to float32 rounding natively); masked-out weights get no gradient; the
 * embedding gradient stays on the looked-up rows; FLOPs follow the sizes exactly.
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { mul } from '../../src/autograd/ops/elementwise.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { reducePending } from '../../src/autograd/ops/embedding.js';
import type { Batch } from '../../src/data/batch.js';
import type { DCNv2, DCNv2Config } from '../../src/models/dcnv2.js';
import { SuperDCNv2, extractSubnet, type Architecture } from '../../src/models/superDcnv2.js';
import { dcnv2Flops } from '../../src/models/flops.js';
import { stepTest, testBackends } from '../helpers/backends.js';
import { assertClose } from '../helpers/close.js';

const F = 4;
const PER_FIELD = 10;
const SEQ_IDS = 20;

function batchOf(size: number, rng: Rng): Batch {
  const ids = Int32Array.from({ length: size * F }, (_, i) => (i % F) * PER_FIELD + rng.int(PER_FIELD));
  const lens = Array.from({ length: size }, () => 1 + rng.int(3));
  const offsets = new Int32Array(size + 1);
  lens.forEach((l, r) => { offsets[r + 1] = offsets[r]! + l; });
  const seqIds = Int32Array.from({ length: offsets[size]! }, () => F * PER_FIELD + rng.int(SEQ_IDS));
  return {
    size, numFields: F, ids, labels: new Float32Array(size),
    dense: Float32Array.from({ length: size * 3 }, () => rng.uniform() * 2 - 1), denseDim: 3,
    sequences: [{ offsets, ids: seqIds }],
  };
}

/** Every gradient of Σ probe·z, by tensor name (the table's sparse gradient made dense), and the logits. */
function gradients(m: DCNv2, batch: Batch, probe: Float32Array): { z: Float32Array; grads: Map<string, Float32Array>; touchedRows: number } {
  const z = m.forward(batch);
  backward(sum(mul(z, new Tensor(probe, [batch.size]))));
  const grads = new Map<string, Float32Array>(m.namedParameters().map(([n, p]) => [n, p.grad.slice()]));
  const table = m.input.emb.weight;
  const g = table.sparseGrad(reducePending(table));
  const dense = new Float32Array(table.data.length);
  for (let i = 0; i < g.count; i++) for (let d = 0; d < table.dim; d++) dense[g.rows[i]! * table.dim + d] = g.values[i * table.dim + d]!;
  grads.set('input.emb.weight', dense);
  const out = { z: z.data.slice(), grads, touchedRows: g.count };
  for (const p of m.parameters()) p.grad.fill(0);
  endStep();
  return out;
}

const nonZero = (a: Float32Array): number => a.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);

const cases: { name: string; cfg: Partial<DCNv2Config>; arch: Architecture }[] = [
  { name: 'parallel, full-rank cross, ReZero', cfg: { structure: 'parallel', rezero: true }, arch: { dim: 5, hidden: [7, 4] } },
  { name: 'stacked, low-rank cross (rank masked), MLP bottleneck', cfg: { structure: 'stacked', crossRank: 6, rank: 3 }, arch: { dim: 3, hidden: [12, 2], crossRank: 2 } },
  { name: 'parallel, the largest candidate', cfg: { structure: 'parallel', crossRank: 6 }, arch: { dim: 8, hidden: [12, 10], crossRank: 6 } },
];

for (const k of testBackends()) {
  const test = stepTest(k);
  // The reference kernels sum in order, so the zeros the masks add change nothing: bit-identical.
  // The native GEMM sums in SIMD blocks, whose grouping the masked columns shift: float32 rounding.
  const tol = k.name === 'reference' ? 0 : 1e-5;
  describe(`super-network masks (${k.name})`, () => {
    for (const c of cases) {
      test(`${c.name}: outputs and gradients are the separately built sub-network's`, () => {
        const cfg: DCNv2Config = {
          numIds: F * PER_FIELD + SEQ_IDS, numFields: F, denseDim: 3, numSequences: 1, dim: 8, hidden: [12, 10], crossLayers: 2, seed: 3, ...c.cfg,
        };
        const rng = new Rng(11);
        const net = new SuperDCNv2(cfg);
        // Every weight random and non-zero (ReZero gates included), so that every path carries gradient.
        for (const a of net.stateDict().values()) for (let i = 0; i < a.length; i++) a[i] = (rng.uniform() * 2 - 1) * 0.5;
        const batch = batchOf(6, rng);
        const probe = Float32Array.from({ length: 6 }, () => rng.uniform() * 2 - 1);

        net.setArchitecture(c.arch);
        const masked = gradients(net, batch, probe);
        const sub = extractSubnet(net, c.arch);
        assert.equal(sub.cfg.dim, c.arch.dim);
        assert.deepEqual(sub.cfg.hidden, c.arch.hidden);
        const plain = gradients(sub, batch, probe);
        assertClose(masked.z, plain.z, tol, tol, 'logits');

        // The super-network's gradients, cut down by the same rule that cut the weights.
        const gradNet = new SuperDCNv2(cfg);
        gradNet.loadStateDict(masked.grads);
        const cut = extractSubnet(gradNet, c.arch).stateDict();
        for (const [name, g] of plain.grads) {
          assertClose(cut.get(name)!, g, tol, tol, name);
          // Nothing outside the candidate's weights moves.
          assert.equal(nonZero(masked.grads.get(name)!), nonZero(cut.get(name)!), `${name}: gradient outside the candidate`);
        }
        // Row-sparse embedding gradient: only the rows the batch looked up.
        const looked = new Set([...batch.ids, ...batch.sequences![0]!.ids]).size;
        assert.equal(masked.touchedRows, looked);
      });
    }

    test('the whole network (no architecture) computes what the DCN-v2 of the largest sizes does', () => {
      const cfg: DCNv2Config = { numIds: F * PER_FIELD + SEQ_IDS, numFields: F, denseDim: 3, numSequences: 1, dim: 8, hidden: [12, 10], crossLayers: 2, seed: 3 };
      const net = new SuperDCNv2(cfg);
      const batch = batchOf(5, new Rng(2));
      const z0 = net.forward(batch).data.slice();
      endStep();
      net.setArchitecture({ dim: 8, hidden: [12, 10] });
      const z1 = net.forward(batch).data.slice();
      endStep();
      assertClose(z1, z0, 0, 0, 'logits');
      assert.throws(() => net.setArchitecture({ dim: 9, hidden: [12, 10] }), /dim 9 is not within 1\.\.8/);
      assert.throws(() => net.setArchitecture({ dim: 4, hidden: [12, 10], crossRank: 2 }), /needs a low-rank cross/);
    });
  });
}

describe('FLOPs per example', () => {
  test('by hand: parallel and stacked, full and low rank', () => {
    // d = (2 fields + 1 sequence)·4 + 2 dense = 14.
    const base = { numFields: 2, numSequences: 1, denseDim: 2, dim: 4, crossLayers: 2 };
    const cross = 2 * (2 * 14 * 14 + 14 + 2 * 14);
    const mlp = 2 * 14 * 8 + 8 + 2 * 8 * 5 + 5;
    assert.equal(dcnv2Flops({ ...base, hidden: [8, 5], structure: 'parallel' }), cross + mlp + 2 * (14 + 5) + 1);
    assert.equal(dcnv2Flops({ ...base, hidden: [8, 5], structure: 'stacked' }), cross + mlp + 2 * 5 + 1);
    const lowCross = 2 * (2 * 14 * 3 + 2 * 3 * 14 + 14 + 2 * 14);
    const lowMlp = 2 * 14 * 2 + 2 * 2 * 8 + 8 + 2 * 8 * 2 + 2 * 2 * 5 + 5;
    assert.equal(dcnv2Flops({ ...base, hidden: [8, 5], crossRank: 3, rank: 2 }), lowCross + lowMlp + 2 * (14 + 5) + 1);
  });
});

function test(name: string, fn: () => void): void {
  stepTest(testBackends()[0]!)(name, fn);
}
