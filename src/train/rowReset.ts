/**
 * Rows of the embedding tables handed over to a new id (a growing vocabulary evicted the old one,
 * src/schema/growingVocab.ts) start afresh: values redrawn from the table's initial distribution,
 * optimiser state back to its initial value, so the new id inherits nothing of the old one. The
 * draw of each row comes from its own seed, so the result does not depend on which other rows are
 * reset with it, on the thread count, or on whether the run was resumed in between.
 */
import type { Module } from '../nn/module.js';
import type { GroupOptions, Optimizer } from '../optim/optimizer.js';
import { Rng } from '../util/random.js';

/** Resets rows `rows` (global ids, ascending) of every table of `model`; `seeds[k]` draws row k's values. */
export function resetTableRows(model: Module, optimizer: Optimizer<GroupOptions>, rows: Int32Array, seeds: Uint32Array): void {
  if (rows.length === 0) return;
  model.tables().forEach((t, ti) => {
    const { dim, data } = t;
    rows.forEach((r, k) => {
      if (r >= t.numRows) throw new Error(`resetTableRows: row ${r} is outside table ${t.name} (${t.numRows} rows)`);
      if (t.initStd === 0) {
        data.fill(0, r * dim, (r + 1) * dim);
        return;
      }
      // Tables drawn from different streams: a model's two tables do not get the same vector.
      const rng = new Rng((seeds[k]! + Math.imul(ti, 0x9e3779b9)) >>> 0);
      for (let d = 0; d < dim; d++) data[r * dim + d] = rng.normal() * t.initStd;
    });
    optimizer.resetTableRows(t, rows);
  });
}
