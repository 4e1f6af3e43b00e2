/**
 * Base of every layer and model: owns parameters (dense), embedding tables (row-sparse) and
 * buffers (non-trained state such as batch-norm statistics), and names them by path so that
 * model files and optimiser state can be saved and restored exactly.
 */
import { EmbeddingTable, Parameter } from '../tensor/tensor.js';

export abstract class Module {
  training = true;
  private readonly _params: [string, Parameter][] = [];
  private readonly _tables: [string, EmbeddingTable][] = [];
  private readonly _buffers: [string, Float32Array][] = [];
  private readonly _children: [string, Module][] = [];

  protected param(name: string, data: Float32Array, shape: readonly number[]): Parameter {
    const p = new Parameter(name, data, shape);
    this._params.push([name, p]);
    return p;
  }

  protected table(name: string, t: EmbeddingTable): EmbeddingTable {
    this._tables.push([name, t]);
    return t;
  }

  protected buffer(name: string, data: Float32Array): Float32Array {
    this._buffers.push([name, data]);
    return data;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this._children.push([name, m]);
    return m;
  }

  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = this._params.map(([n, p]) => [prefix + n, p]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  namedTables(prefix = ''): [string, EmbeddingTable][] {
    const out: [string, EmbeddingTable][] = this._tables.map(([n, t]) => [prefix + n, t]);
    for (const [n, c] of this._children) out.push(...c.namedTables(`${prefix}${n}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, Float32Array][] {
    const out: [string, Float32Array][] = this._buffers.map(([n, b]) => [prefix + n, b]);
    for (const [n, c] of this._children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** This module and every descendant, by path ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this._children) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  tables(): EmbeddingTable[] {
    return this.namedTables().map(([, t]) => t);
  }

  /** Every persistent float array by name: parameters, tables and buffers. */
  stateDict(): Map<string, Float32Array> {
    const m = new Map<string, Float32Array>();
    for (const [n, p] of this.namedParameters()) m.set(n, p.data);
    for (const [n, t] of this.namedTables()) m.set(n, t.data);
    for (const [n, b] of this.namedBuffers()) m.set(n, b);
    return m;
  }

  /**
   * Copies saved arrays back (names and sizes must match exactly). With adoptTables, embedding
   * tables take the given arrays as their storage instead (EmbeddingTable.adopt): the caller
   * hands them over and must not use them otherwise.
   */
  loadStateDict(state: ReadonlyMap<string, Float32Array>, opts: { adoptTables?: boolean } = {}): void {
    const mine = this.stateDict();
    const tables = opts.adoptTables ? new Map(this.namedTables()) : undefined;
    for (const [n, dst] of mine) {
      const src = state.get(n);
      if (!src) throw new Error(`loadStateDict: missing tensor '${n}'`);
      if (src.length !== dst.length) throw new Error(`loadStateDict: '${n}' has ${src.length} values, model expects ${dst.length}`);
      const table = tables?.get(n);
      if (table) table.adopt(src);
      else dst.set(src);
    }
    for (const n of state.keys()) if (!mine.has(n)) throw new Error(`loadStateDict: unexpected tensor '${n}'`);
    for (const p of this.parameters()) p.version++;
  }

  /**
   * Whether this module's training-mode forward gives exactly its evaluation-mode output (no
   * dropout, no ramp, no sampled gates), so a batch's training forward also scores it (online
   * progressive validation). True when every child's does; modules that differ override.
   */
  scoresAsInEval(): boolean {
    return this._children.every(([, c]) => c.scoresAsInEval());
  }

  /**
   * Parameters that train at a learning rate of their own (e.g. SNR's connection gates, whose
   * log α must travel far in few steps), with that rate; the optimiser gives each entry a group.
   * Collected from the children; none by default.
   */
  ownLearningRates(): { params: Parameter[]; lr: number }[] {
    return this._children.flatMap(([, c]) => c.ownLearningRates());
  }

  /**
   * The trainer calls this on the model before every optimisation step with the number of
   * steps already taken in the run: its checkpointed global step, so that a schedule inside a
   * layer (a warm-up ramp) continues exactly where it was after a resume, which a private
   * counter would not. Layers that need it override and call super; the rest ignore it.
   */
  onTrainingStep(step: number): void {
    for (const [, c] of this._children) c.onTrainingStep(step);
  }

  /** Switches training mode (dropout, batch norm) for this module and its children. */
  train(on = true): this {
    this.training = on;
    for (const [, c] of this._children) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }
}
