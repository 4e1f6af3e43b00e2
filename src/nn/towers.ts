/** One tower per head of a multi-task model: an MLP from the head's input to its logit. */
import { reshape } from '../autograd/ops/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import type { LayerOptions } from './mixture.js';
import { MLP } from './mlp.js';
import { Module } from './module.js';

export class Towers extends Module {
  readonly nets: MLP[];

  /** Towers named by position (`0`, `1`, …): head names are user strings, parameter names are not. */
  constructor(readonly names: readonly string[], inDim: number, hidden: readonly number[], opts: LayerOptions, rng: Rng) {
    super();
    this.nets = names.map((_, t) => this.child(`${t}`, new MLP({ inDim, hidden, outDim: 1, ...opts }, rng)));
  }

  /** inputs[t] [B, inDim] → { names[t]: logits [B] }. */
  forward(inputs: readonly Tensor[]): Record<string, Tensor> {
    if (inputs.length !== this.nets.length) throw new Error(`Towers: ${inputs.length} inputs for ${this.nets.length} towers`);
    const out: Record<string, Tensor> = {};
    this.nets.forEach((net, t) => {
      const z = net.forward(inputs[t]!);
      out[this.names[t]!] = reshape(z, [z.shape[0]!]);
    });
    return out;
  }
}
