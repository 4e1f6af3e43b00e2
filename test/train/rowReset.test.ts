/**
 * A row handed to a new id (a growing vocabulary's eviction) starts afresh in every table and in
 * the optimiser: redrawn from the table's initial distribution by its own seed, accumulators and
 * moments back to their initial values; every other row is left alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, parseOptimizerConfig } from '../../src/optim/registry.js';
import { DNN } from '../../src/models/dnn.js';
import { LR } from '../../src/models/lr.js';
import { resetTableRows } from '../../src/train/rowReset.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import type { Optimizer, GroupOptions } from '../../src/optim/optimizer.js';

/** Two steps with a gradient on every row of every table: state and values move away from the start. */
function trained(model: CTRModel, optimizer: Optimizer<GroupOptions>): void {
  for (let s = 0; s < 2; s++) {
    for (const t of model.tables()) {
      const rows = Int32Array.from({ length: t.numRows }, (_, i) => i);
      t.assignGrad({ rows, values: Float32Array.from({ length: t.numRows * t.dim }, (_, i) => 0.1 + (i % 7) * 0.05), count: t.numRows });
    }
    optimizer.step();
  }
}

const state = (o: Optimizer<GroupOptions>): Map<string, Float32Array> => o.saveState().buffers;

describe('resetTableRows', () => {
  for (const cfg of [
    { type: 'adagrad', lr: 0.1, initialAccumulator: 0.1 },
    { type: 'adagrad', lr: 0.1, initialAccumulator: 0.1, rowwise: true },
    { type: 'adam', lr: 0.01 },
  ]) {
    it(`puts the rows and their ${JSON.stringify(cfg)} state back to the start; other rows untouched`, () => {
      const model = new DNN({ numIds: 20, numFields: 2, dim: 3, hidden: [4], seed: 1 });
      const opt = createOptimizer(parseOptimizerConfig(cfg), model);
      trained(model, opt);
      const table = model.tables()[0]!;
      const before = table.data.slice();
      const stateBefore = state(opt);
      const rows = Int32Array.from([2, 17]);
      resetTableRows(model, opt, rows, Uint32Array.from([11, 12]));
      const init = cfg.type === 'adagrad' ? 0.1 : 0;
      for (const [key, buf] of state(opt)) {
        const old = stateBefore.get(key)!;
        if (!key.startsWith('1.t')) {
          assert.deepEqual(buf, old, `dense state ${key} untouched`);
          continue;
        }
        const width = buf.length / table.numRows;
        for (let r = 0; r < table.numRows; r++) {
          const got = [...buf.subarray(r * width, (r + 1) * width)];
          if (r === 2 || r === 17) assert.ok(got.every((x) => x === Math.fround(init)), `${key} row ${r}: ${got}`);
          else assert.deepEqual(got, [...old.subarray(r * width, (r + 1) * width)]);
        }
      }
      for (let r = 0; r < 20; r++) {
        const row = [...table.data.subarray(r * 3, r * 3 + 3)];
        if (r === 2 || r === 17) {
          assert.notDeepEqual(row, [...before.subarray(r * 3, r * 3 + 3)]);
          // A fresh N(0, 1e-4²) draw, not the trained values (which moved by ~lr).
          assert.ok(row.every((x) => Math.abs(x) < 1e-3 && x !== 0), `row ${r}: ${row}`);
        } else {
          assert.deepEqual(row, [...before.subarray(r * 3, r * 3 + 3)]);
        }
      }
    });
  }

  it('draws each row from its own seed: the same seed gives the same vector, whatever else is reset with it', () => {
    const a = new DNN({ numIds: 20, numFields: 2, dim: 3, hidden: [4], seed: 1 });
    const b = new DNN({ numIds: 20, numFields: 2, dim: 3, hidden: [4], seed: 2 });
    const oa = createOptimizer(parseOptimizerConfig({ type: 'adagrad', lr: 0.1 }), a);
    const ob = createOptimizer(parseOptimizerConfig({ type: 'adagrad', lr: 0.1 }), b);
    resetTableRows(a, oa, Int32Array.from([5]), Uint32Array.from([99]));
    resetTableRows(b, ob, Int32Array.from([1, 5]), Uint32Array.from([3, 99]));
    const row = (m: DNN, r: number): number[] => [...m.tables()[0]!.data.subarray(r * 3, r * 3 + 3)];
    assert.deepEqual(row(a, 5), row(b, 5));
    assert.notDeepEqual(row(b, 1), row(b, 5));
  });

  it("resets logistic regression's weights too; a zero-initialised table's rows go back to zero", () => {
    const model = new LR({ numIds: 10 });
    const opt = createOptimizer(parseOptimizerConfig({ type: 'adagrad', lr: 0.1 }), model);
    trained(model, opt);
    const w = model.tables()[0]!;
    assert.ok(Math.abs(w.data[4]!) > 1e-2 && Math.abs(w.data[3]!) > 1e-2);
    resetTableRows(model, opt, Int32Array.from([4]), Uint32Array.from([1]));
    assert.ok(Math.abs(w.data[4]!) < 1e-3 && w.data[4] !== 0);
    assert.ok(Math.abs(w.data[3]!) > 1e-2);
    w.initStd = 0;
    resetTableRows(model, opt, Int32Array.from([3]), Uint32Array.from([1]));
    assert.equal(w.data[3], 0);
  });
});
