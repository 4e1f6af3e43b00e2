import type { Batch } from '../data/batch.js';
import { Linear } from '../nn/linear.js';
import { Experts, mixExperts, type LayerOptions } from '../nn/mixture.js';
import { Module } from '../nn/module.js';
import { Towers } from '../nn/towers.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import type { HeadLogits } from './ctrModel.js';
import { TaskHeadsNet, type TaskHeadsConfig } from './multiTaskNet.js';

export interface PLEConfig extends TaskHeadsConfig {
  /** CGC levels stacked (the last one has no shared gate). */
  levels: number;
  /** Experts of each task, per level. */
  taskExperts: number;
  /** Shared experts per level. */
  sharedExperts: number;
  /** Hidden widths of each expert MLP. */
  expert: readonly number[];
}

/** A level's outputs: each task's gated input to the next level (or tower), and the shared one. */
interface LevelOutput {
  tasks: Tensor[];
  /** Undefined after the last level, which has no shared gate. */
  shared?: Tensor;
}

/**
 * One CGC level. Task t: E_t(x_t) and the shared experts S(x_s), mixed by a gate of x_t over
 * (own ‖ shared); unless last, the shared output mixes every expert (all tasks' ‖ shared) by a
 * gate of x_s.
 */
class CGCLevel extends Module {
  readonly taskExperts: Experts[];
  readonly shared: Experts;
  readonly taskGates: Linear[];
  readonly sharedGate: Linear | null;

  constructor(tasks: number, inDim: number, cfg: PLEConfig, last: boolean, opts: LayerOptions, rng: Rng) {
    super();
    const { taskExperts: kt, sharedExperts: ks } = cfg;
    this.taskExperts = Array.from({ length: tasks }, (_, t) => this.child(`taskExperts.${t}`, new Experts(kt, inDim, cfg.expert, opts, rng)));
    this.shared = this.child('sharedExperts', new Experts(ks, inDim, cfg.expert, opts, rng));
    this.taskGates = Array.from({ length: tasks }, (_, t) => this.child(`taskGates.${t}`, new Linear({ inDim, outDim: kt + ks }, rng)));
    this.sharedGate = last ? null : this.child('sharedGate', new Linear({ inDim, outDim: tasks * kt + ks }, rng));
  }

  get outDim(): number {
    return this.shared.outDim;
  }

  forward(taskInputs: readonly Tensor[], sharedInput: Tensor): LevelOutput {
    const s = this.shared.forward(sharedInput);
    const own = this.taskExperts.map((e, t) => e.forward(taskInputs[t]!));
    const tasks = this.taskGates.map((g, t) => mixExperts(g.forward(taskInputs[t]!), [...own[t]!, ...s]));
    if (!this.sharedGate) return { tasks };
    return { tasks, shared: mixExperts(this.sharedGate.forward(sharedInput), [...own.flat(), ...s]) };
  }
}

/**
 * PLE (Tang et al. 2020): CGC levels stacked, level l+1's task-t experts (and gate) reading level
 * l's task-t output and its shared experts (and gate) reading level l's shared output; the first
 * level reads x0 everywhere. z_t = tower_t(last level's task-t output).
 */
export class PLE extends TaskHeadsNet<PLEConfig> {
  readonly kind = 'ple';
  readonly levels: CGCLevel[];
  readonly towers: Towers;

  constructor(cfg: PLEConfig) {
    super(cfg);
    let d = this.input.outDim;
    this.levels = Array.from({ length: cfg.levels }, (_, l) => {
      const level = this.child(`levels.${l}`, new CGCLevel(cfg.tasks.length, d, cfg, l === cfg.levels - 1, this.layerOpts, this.rng));
      d = level.outDim;
      return level;
    });
    this.towers = this.child('towers', new Towers(cfg.tasks, d, cfg.tower, this.layerOpts, this.rng));
  }

  forwardHeads(batch: Batch): HeadLogits {
    const x0 = this.input.forward(batch);
    let out: LevelOutput = { tasks: this.cfg.tasks.map(() => x0), shared: x0 };
    for (const level of this.levels) out = level.forward(out.tasks, out.shared!);
    return this.towers.forward(out.tasks);
  }

  /** The last level's shared experts' last layers. */
  lastSharedLayer(): Parameter[] {
    return this.levels.at(-1)!.shared.lastLayers();
  }
}
