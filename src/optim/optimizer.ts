/**
 * Optimiser base: parameter groups with their own hyper-parameters, dense parameters updated
 * in place, embedding tables updated row-sparsely (only rows touched in the step), and a state
 * (step count + per-parameter buffers) that can be saved and restored bit for bit.
 */
import { reducePending } from '../autograd/ops/embedding.js';
import type { EmbeddingTable, Parameter, SparseGrad } from '../tensor/tensor.js';

export interface GroupOptions {
  lr: number;
  weightDecay?: number;
}

export interface ParamGroup<O extends GroupOptions> {
  params: Parameter[];
  tables: EmbeddingTable[];
  options: O;
}

export type GroupSpec<O extends GroupOptions> = {
  params?: Parameter[];
  tables?: EmbeddingTable[];
} & Partial<O>;

export abstract class Optimizer<O extends GroupOptions> {
  readonly groups: ParamGroup<O>[];
  /** Number of step() calls so far (1-based inside step). */
  stepCount = 0;
  /** Per-tensor state buffers, keyed by '<group>.<p|t><index>.<slot>'. */
  protected readonly state = new Map<string, Float32Array>();

  constructor(groups: GroupSpec<O>[], defaults: O) {
    this.groups = groups.map((g) => {
      const { params = [], tables = [], ...opts } = g;
      const options = { ...defaults, ...opts } as O;
      if (!(options.lr >= 0)) throw new Error(`optimizer: learning rate must be >= 0, got ${options.lr}`);
      return { params, tables, options };
    });
  }

  /** Lazily created state slot of the given length, initialised to `init`. */
  protected slot(key: string, n: number, init = 0): Float32Array {
    let s = this.state.get(key);
    if (!s) {
      s = new Float32Array(n);
      if (init !== 0) s.fill(init);
      this.state.set(key, s);
    }
    return s;
  }

  protected abstract updateDense(p: Parameter, key: string, o: O): void;
  protected abstract updateTable(t: EmbeddingTable, g: SparseGrad, key: string, o: O): void;

  /** The value a table's state slot (the key's last part: 'acc', 'm', …) starts at. */
  protected tableSlotInit(_slot: string, _o: O): number {
    return 0;
  }

  /**
   * Puts the state of rows `rows` of table `t` back to how a row starts (a row handed over to a new
   * id must not inherit the old one's accumulators). Slots not created yet start that way anyway.
   */
  resetTableRows(t: EmbeddingTable, rows: Int32Array): void {
    this.groups.forEach((g, gi) => {
      const i = g.tables.indexOf(t);
      if (i < 0) return;
      const prefix = `${gi}.t${i}.`;
      for (const [key, buf] of this.state) {
        if (!key.startsWith(prefix)) continue;
        const init = this.tableSlotInit(key.slice(prefix.length), g.options);
        // A slot holds one value per row (row-wise) or per element.
        const width = buf.length / t.numRows;
        for (const r of rows) buf.fill(init, r * width, (r + 1) * width);
      }
    });
  }

  step(): void {
    this.stepCount++;
    this.groups.forEach((g, gi) => {
      g.params.forEach((p, i) => {
        if (!p.requiresGrad) return;
        this.updateDense(p, `${gi}.p${i}`, g.options);
        p.version++;
      });
      g.tables.forEach((t, i) => {
        if (!t.trainable || !t.hasGrad()) return;
        const sg = t.sparseGrad(reducePending(t));
        if (sg.count > 0) this.updateTable(t, sg, `${gi}.t${i}`, g.options);
      });
    });
  }

  /**
   * Clears the gradients. `dense: false` leaves the dense parameters' buffers as they are, for a
   * caller whose backward sets every one of them before `step` (autograd/taskGradients.ts).
   */
  zeroGrad(opts: { dense?: boolean } = {}): void {
    for (const g of this.groups) {
      if (opts.dense !== false) for (const p of g.params) p.grad.fill(0);
      for (const t of g.tables) t.zeroGrad();
    }
  }

  setLearningRate(lr: number, group?: number): void {
    this.groups.forEach((g, i) => {
      if (group === undefined || group === i) g.options.lr = lr;
    });
  }

  /** Exact state: step count and every buffer (copied). */
  saveState(): { stepCount: number; buffers: Map<string, Float32Array> } {
    const buffers = new Map<string, Float32Array>();
    for (const [k, v] of this.state) buffers.set(k, v.slice());
    return { stepCount: this.stepCount, buffers };
  }

  loadState(s: { stepCount: number; buffers: ReadonlyMap<string, Float32Array> }): void {
    this.stepCount = s.stepCount;
    this.state.clear();
    for (const [k, v] of s.buffers) this.state.set(k, v.slice());
  }
}
