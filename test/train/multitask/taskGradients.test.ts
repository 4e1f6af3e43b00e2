/**
 * Per-task gradients over a retained tape (autograd/taskGradients.ts) on a model with embedding
 * tables, on every backend: they sum to the gradient of the summed loss, a tensor a task does not
 * reach is zero for it, and a table's block covers exactly the union of the tasks' touched rows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { add } from '../../../src/autograd/ops/elementwise.js';
import { endStep } from '../../../src/autograd/tape.js';
import { taskGradients } from '../../../src/autograd/taskGradients.js';
import { testBackends, withBackend } from '../../helpers/backends.js';
import { poisonArena } from '../../helpers/poisonArena.js';
import { TinyMultiTask, denseGradients, tinyBatch } from '../../helpers/tinyMultiTask.js';

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-6 + 1e-5 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

for (const k of testBackends()) {
  describe(`taskGradients (${k.name})`, () => {
    it('per-task gradients sum to the gradient of the summed loss; unreached tensors are zero', () => withBackend(k, () => {
      const model = new TinyMultiTask(3);
      const batch = tinyBatch(16, 5);
      const summed = denseGradients(model, () => model.losses(batch).reduce((a, b) => add(a, b)));
      const perTask = model.heads.map((_, t) => denseGradients(model, () => model.losses(batch)[t]!));

      const grads = taskGradients(model.losses(batch), model.namedParameters(), model.namedTables());
      const blocks = grads.blocks;
      const byName = new Map(blocks.map((b) => [b.name, b]));
      const tasksOf = (name: string): number[] => [...byName.get(name)!.tasks];
      assert.deepEqual(tasksOf('emb'), [0, 1, 2]);
      assert.deepEqual(tasksOf('shared.W'), [0, 1, 2]);
      assert.deepEqual(tasksOf('a.W'), [0]);
      assert.deepEqual(tasksOf('b.W'), [1]);
      assert.deepEqual(tasksOf('bias'), [1]);

      const touched = new Set<number>();
      for (let i = 0; i < batch.size * 2; i++) touched.add(batch.ids[i]!);
      assert.deepEqual([...byName.get('emb')!.rows!], [...touched].sort((a, b) => a - b), 'the table block is the union of touched rows');

      for (const b of blocks) {
        // Index i of the block in the densified gradient (a table block covers rows b.rows only).
        const at = (i: number): number => (b.rows ? b.rows[Math.floor(i / b.width)]! * b.width + (i % b.width) : i);
        const dense = (t: number, i: number): number => perTask[t]!.get(b.name)![at(i)]!;
        const total = (i: number): number => summed.get(b.name)![at(i)]!;
        for (let i = 0; i < b.grads[0]!.length; i++) {
          let s = 0;
          for (let t = 0; t < 3; t++) {
            const g = b.grads[t]![i]!;
            close(g, dense(t, i), `${b.name}[${i}] task ${t}`);
            if (!b.tasks.includes(t)) assert.equal(g, 0, `${b.name} is not reached by task ${t}`);
            s += g;
          }
          close(s, total(i), `${b.name}[${i}] Σ tasks`);
        }
      }
      // Task a reaches the table through field 0 only: field 1's rows (10…) are zero for it.
      const emb = byName.get('emb')!;
      let nonzeroField1 = 0;
      emb.rows!.forEach((r, i) => {
        for (let d = 0; d < emb.width; d++) {
          if (r >= 10) assert.equal(emb.grads[0]![i * emb.width + d], 0);
          if (r >= 10 && emb.grads[1]![i * emb.width + d] !== 0) nonzeroField1++;
        }
      });
      assert.ok(nonzeroField1 > 0, 'task b does reach field 1 rows');
      endStep();
    }));

    it('stale gradient buffers (the parameters\' own, recycled arena ones) give the same blocks as zeroed ones', () => withBackend(k, () => {
      const model = new TinyMultiTask(4);
      const batch = tinyBatch(16, 8);
      const snapshot = (): Map<string, Float32Array[]> => {
        const g = taskGradients(model.losses(batch), model.namedParameters(), model.namedTables());
        const out = new Map(g.blocks.map((b) => [b.name, b.grads.map((x) => x.slice())]));
        // Assigned, every parameter's own buffer is set, whatever it held (zeros where unreached).
        g.assign(g.blocks.map((b) => b.grads[b.tasks[0]!]!));
        for (const [name, p] of model.namedParameters()) assert.ok(p.grad.every((v) => Number.isFinite(v)), `${name} is set`);
        endStep();
        return out;
      };
      for (const p of model.parameters()) p.grad.fill(0);
      const clean = snapshot();
      // Gradients left in the parameters by an earlier backward, and garbage in the arena.
      denseGradients(model, () => model.losses(batch).reduce((a, b) => add(a, b)));
      assert.ok(model.parameters().some((p) => p.grad.some((v) => v !== 0)));
      assert.deepEqual(snapshot(), clean);
      for (const p of model.parameters()) p.grad.fill(NaN);
      poisonArena();
      assert.deepEqual(snapshot(), clean);
    }));
  });
}

