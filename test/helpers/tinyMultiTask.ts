/**
 * A tiny multi-task model for the multi-task tests: an embedding table shared by every task,
 * a shared layer, and three towers that reach the table's rows differently —
 *   a: tower over the shared layer (field 0's rows only, through it);
 *   b: tower over [shared, e(field 1)] plus a bias table that only b reads;
 *   c: tower over [shared, e(field 1)].
 * So the table is shared by all three tasks, but task a leaves field 1's rows at zero, the bias
 * table and each tower are task-specific, and the shared layer is the last shared layer.
 */
import { embeddingLookup } from '../../src/autograd/ops/embedding.js';
import { add } from '../../src/autograd/ops/elementwise.js';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { concat, reshape } from '../../src/autograd/ops/layout.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { reducePending } from '../../src/autograd/ops/embedding.js';
import type { Batch } from '../../src/data/batch.js';
import { MultiTaskModel, type HeadLogits } from '../../src/models/ctrModel.js';
import { Linear } from '../../src/nn/linear.js';
import { normal } from '../../src/nn/init.js';
import { EmbeddingTable, type Parameter, type Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';

export const ROWS = 20;
export const DIM = 3;

export class TinyMultiTask extends MultiTaskModel {
  readonly kind = 'tiny-mtl';
  readonly emb: EmbeddingTable;
  readonly bias: EmbeddingTable;
  readonly shared: Linear;
  readonly towers: Linear[];

  constructor(seed = 1) {
    super();
    const rng = new Rng(seed);
    this.emb = this.table('emb', new EmbeddingTable('emb', ROWS, DIM));
    normal(this.emb.data, 0.5, rng);
    this.bias = this.table('bias', new EmbeddingTable('bias', ROWS, 1));
    normal(this.bias.data, 0.5, rng);
    this.shared = this.child('shared', new Linear({ inDim: DIM, outDim: 4, activation: 'tanh' }, rng));
    this.towers = [
      this.child('a', new Linear({ inDim: 4, outDim: 1 }, rng)),
      this.child('b', new Linear({ inDim: 4 + DIM, outDim: 1 }, rng)),
      this.child('c', new Linear({ inDim: 4 + DIM, outDim: 1 }, rng)),
    ];
  }

  get heads(): readonly string[] {
    return ['a', 'b', 'c'];
  }

  lastSharedLayer(): Parameter[] {
    return this.shared.parameters();
  }

  forwardHeads(batch: Batch): HeadLogits {
    const n = batch.size;
    const f0 = Int32Array.from({ length: n }, (_, i) => batch.ids[i * 2]!);
    const f1 = Int32Array.from({ length: n }, (_, i) => batch.ids[i * 2 + 1]!);
    const h = this.shared.forward(embeddingLookup(this.emb, f0));
    const hb = concat([h, embeddingLookup(this.emb, f1)], 1);
    const flat = (t: Tensor): Tensor => reshape(t, [n]);
    return {
      a: flat(this.towers[0]!.forward(h)),
      b: add(flat(this.towers[1]!.forward(hb)), flat(embeddingLookup(this.bias, f1))),
      c: flat(this.towers[2]!.forward(hb)),
    };
  }

  /** Each head's BCE against its labels, in head order. */
  losses(batch: Batch): Tensor[] {
    const z = this.forwardHeads(batch);
    return this.heads.map((h, t) => bceWithLogits(z[h]!, batch.taskLabels![t]!));
  }
}

/**
 * A batch whose field 0 uses rows 0–9 and field 1 rows 10–19 (rows repeat within the batch);
 * task a's labels y, task b's 1 − y (so a and b conflict), task c's drawn apart.
 */
export function tinyBatch(n: number, seed: number): Batch {
  const rng = new Rng(seed);
  const ids = new Int32Array(n * 2);
  const y = new Float32Array(n), yb = new Float32Array(n), yc = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    ids[i * 2] = rng.int(7);
    ids[i * 2 + 1] = 10 + rng.int(7);
    y[i] = rng.uniform() < 0.5 ? 1 : 0;
    yb[i] = 1 - y[i]!;
    yc[i] = rng.uniform() < 0.3 ? 1 : 0;
  }
  return { size: n, numFields: 2, ids, labels: y, taskLabels: [y, yb, yc] };
}

/** Every tensor's gradient of `loss()` (one ordinary backward), tables densified to numRows × dim. */
export function denseGradients(model: TinyMultiTask, loss: () => Tensor): Map<string, Float64Array> {
  for (const p of model.parameters()) p.grad.fill(0);
  for (const t of model.tables()) t.zeroGrad();
  backward(loss());
  const out = new Map<string, Float64Array>();
  for (const [name, p] of model.namedParameters()) out.set(name, Float64Array.from(p.grad));
  for (const [name, t] of model.namedTables()) {
    const dense = new Float64Array(t.numRows * t.dim);
    if (t.hasGrad()) {
      const g = t.sparseGrad(reducePending(t));
      for (let i = 0; i < g.count; i++) for (let k = 0; k < t.dim; k++) dense[g.rows[i]! * t.dim + k] = g.values[i * t.dim + k]!;
    }
    t.zeroGrad();
    out.set(name, dense);
  }
  endStep();
  return out;
}
