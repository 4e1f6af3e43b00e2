import { add, mulScalar, scale } from '../autograd/ops/elementwise.js';
import { concat, split } from '../autograd/ops/layout.js';
import type { Batch } from '../data/batch.js';
import { HardConcreteGates } from '../nn/hardConcrete.js';
import { Experts, lastLayer } from '../nn/mixture.js';
import { MLP } from '../nn/mlp.js';
import { Towers } from '../nn/towers.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
import type { HeadLogits } from './ctrModel.js';
import { TaskHeadsNet, type TaskHeadsConfig } from './multiTaskNet.js';

export const SNR_VARIANTS = ['trans', 'aver'] as const;
export type SNRVariant = (typeof SNR_VARIANTS)[number];

export interface SNRConfig extends TaskHeadsConfig {
  /** SNR-Trans (each connection transforms its source) or SNR-Aver (a gated sum of the sources). */
  variant: SNRVariant;
  /** Sub-networks per level. */
  subnetworks: number;
  /** One entry per level: the width of that level's sub-networks (one hidden layer each). */
  widths: readonly number[];
  /** λ of the L0 penalty λ · Σ P(z ≠ 0) over every connection. */
  l0: number;
  /** Temperature β of the hard-concrete gates. */
  temperature: number;
  /** Initial log α of every connection. */
  gateInit: number;
  /** Learning rate of the gates' log α (default: the optimiser's). */
  gateLr?: number;
}

/**
 * SNR (Ma et al., AAAI'19): the shared layers split into `subnetworks` sub-networks per level;
 * level 1's sub-networks read x0, and each one above (and each task's tower, above the last level)
 * reads the level below through a coded connection per source, z_ij ∈ [0, 1] a hard-concrete gate
 * (nn/hardConcrete.ts). SNR-Trans: v_i = Σ_j z_ij W_ij u_j, written as one layer over
 * concat_j(z_ij u_j) whose weight is the blocks W_ij stacked (with every z = 1 a plain dense
 * layer: the shared-bottom MLP); SNR-Aver: v_i = Σ_j z_ij u_j, read by the sub-network's own layer.
 * regularizer() is the L0 penalty λ · Σ_ij P(z_ij ≠ 0).
 */
export class SNR extends TaskHeadsNet<SNRConfig> {
  readonly kind = 'snr';
  /** Level 1, reading x0. */
  readonly first: Experts;
  /** Levels 2…L, each sub-network reading its routed input. */
  readonly upper: MLP[][];
  readonly towers: Towers;
  /** Every connection's gate: level 2's K×K (target-major), …, then the towers' T×K. */
  readonly gates: HardConcreteGates;

  constructor(cfg: SNRConfig) {
    super(cfg);
    const K = cfg.subnetworks;
    const [w0, ...rest] = cfg.widths;
    if (w0 === undefined) throw new Error('SNR: widths needs at least one level');
    /** Input width of a sub-network or tower that reads a level of width w. */
    const routed = (w: number): number => (cfg.variant === 'trans' ? K * w : w);
    this.first = this.child('levels.0', new Experts(K, this.input.outDim, [w0], this.layerOpts, this.rng));
    let below = w0;
    this.upper = rest.map((w, l) => {
      const level = Array.from({ length: K }, (_, i) => this.child(`levels.${l + 1}.${i}`, new MLP({ inDim: routed(below), hidden: [w], ...this.layerOpts }, this.rng)));
      below = w;
      return level;
    });
    this.towers = this.child('towers', new Towers(cfg.tasks, routed(below), cfg.tower, this.layerOpts, this.rng));
    const count = rest.length * K * K + cfg.tasks.length * K;
    this.gates = this.child('gates', new HardConcreteGates({ count, temperature: cfg.temperature, initLogAlpha: cfg.gateInit, lr: cfg.gateLr }, this.rng));
  }

  forwardHeads(batch: Batch): HeadLogits {
    const z = split(this.gates.forward(), new Array<number>(this.gates.cfg.count).fill(1), 0);
    let next = 0;
    /** The input of one target (sub-network or tower) from the K outputs below, through its K gates. */
    const route = (below: readonly Tensor[]): Tensor => {
      const gated = below.map((u) => mulScalar(u, z[next++]!));
      return this.cfg.variant === 'trans' ? concat(gated, 1) : gated.reduce((acc, g) => add(acc, g));
    };
    let u = this.first.forward(this.input.forward(batch));
    for (const level of this.upper) {
      const below = u;
      u = level.map((net) => net.forward(route(below)));
    }
    return this.towers.forward(this.cfg.tasks.map(() => route(u)));
  }

  /** The L0 penalty λ · Σ P(z ≠ 0) (none when λ = 0). */
  override regularizer(): Tensor | null {
    return this.cfg.l0 > 0 ? scale(this.gates.expectedOpen(), this.cfg.l0) : null;
  }

  /** Every sub-network's last layer in the top level (what the towers' connections read). */
  lastSharedLayer(): Parameter[] {
    const top = this.upper.at(-1);
    return top ? top.flatMap((net) => lastLayer(net)) : this.first.lastLayers();
  }
}
