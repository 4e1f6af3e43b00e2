import type { Batch } from '../data/batch.js';
import { reshape } from '../autograd/ops/layout.js';
import { add } from '../autograd/ops/elementwise.js';
import { LR } from './lr.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { FeatureInput } from '../nn/featureInput.js';
import type { MLP } from '../nn/mlp.js';
import { deepMLP, type DeepConfig } from './deep.js';
import { CTRModel, type RepresentedOutput } from './ctrModel.js';

export interface DNNConfig extends DeepConfig {
  /** Wide & deep: add a logistic regression over the same features (a table of its own) to the logit. */
  wide?: boolean;
}

/**
 * DNN: x0 = [field embeddings ‖ pooled sequences ‖ dense] → MLP → one logit; with `wide`, plus
 * an LR's logit over the same features (wide & deep, Cheng et al. 2016), whose one weight per id
 * moves the output from the first steps on, as an online learner wants.
 */
export class DNN extends CTRModel {
  readonly kind = 'dnn';
  readonly input: FeatureInput;
  readonly mlp: MLP;
  readonly wide: LR | null;

  constructor(readonly cfg: DNNConfig) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    this.input = this.child('input', new FeatureInput(cfg, rng));
    this.mlp = this.child('mlp', deepMLP(cfg, this.input.outDim, cfg.logits ?? 1, rng));
    if (cfg.wide && (cfg.logits ?? 1) !== 1) throw new Error('DNN: wide adds to a one-logit head; logits is 2');
    // Its own seed after the deep part's draws: a DNN without `wide` initialises exactly as before.
    this.wide = cfg.wide ? this.child('wide', new LR({ numIds: cfg.numIds, initStd: cfg.initStd, seed: rng.nextU32(), denseDim: cfg.denseDim, numSequences: cfg.numSequences })) : null;
  }

  override get logitsPerRow(): number {
    return this.cfg.logits ?? 1;
  }

  forward(batch: Batch): Tensor {
    return this.forwardWithRepresentation(batch).logits;
  }

  override forwardWithRepresentation(batch: Batch): RepresentedOutput {
    const k = this.logitsPerRow;
    const { hidden, out } = this.mlp.forwardWithHidden(this.input.forward(batch));
    const deep = reshape(out, k === 1 ? [batch.size] : [batch.size, k]);
    return { logits: this.wide ? add(deep, this.wide.forward(batch)) : deep, representation: hidden };
  }
}
