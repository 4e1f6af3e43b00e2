import type { Batch } from '../data/batch.js';
import { concat, reshape } from '../autograd/ops/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { CrossNet } from '../nn/crossNet.js';
import { FeatureInput } from '../nn/featureInput.js';
import { Linear } from '../nn/linear.js';
import type { MLP, MLPMasks } from '../nn/mlp.js';
import { deepMLP, type DeepConfig } from './deep.js';
import { mul } from '../autograd/ops/elementwise.js';
import { CTRModel, type RepresentedOutput } from './ctrModel.js';

export interface DCNv2Config extends DeepConfig {
  crossLayers: number;
  /** Low-rank cross layers (undefined = full rank). */
  crossRank?: number;
  /** Steps over which the cross term's scale ramps 0 → 1 (Google's DCN-v2; undefined = no ramp). */
  crossRamp?: number;
  /** ReZero: a learned scalar per cross layer, initialised to 0, on the cross term. */
  rezero?: boolean;
  /** 'parallel': concat(cross(x0), mlp(x0)) → logit; 'stacked': mlp(cross(x0)) → logit. */
  structure?: 'parallel' | 'stacked';
}

/** See DCNv2.subnetMasks: x0's kept columns ([1, inDim]), the cross rank's, the MLP's widths. */
export interface DCNv2Masks {
  input: Tensor;
  crossRank?: Tensor;
  mlp: MLPMasks;
}

/**
 * DCN-v2 (Wang et al. 2021) with full- or low-rank cross layers, parallel or stacked, and the
 * Google variant's cross ramp, ReZero and low-rank MLP bottlenecks.
 */
export class DCNv2 extends CTRModel {
  readonly kind = 'dcnv2';
  readonly input: FeatureInput;
  readonly cross: CrossNet;
  readonly mlp: MLP;
  readonly head: Linear | null;

  constructor(readonly cfg: DCNv2Config) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    const stacked = cfg.structure === 'stacked';
    this.input = this.child('input', new FeatureInput(cfg, rng));
    const d = this.input.outDim;
    this.cross = this.child('cross', new CrossNet({ dim: d, layers: cfg.crossLayers, rank: cfg.crossRank, ramp: cfg.crossRamp, rezero: cfg.rezero }, rng));
    this.mlp = this.child('mlp', deepMLP(cfg, d, stacked ? cfg.logits ?? 1 : undefined, rng));
    const last = cfg.hidden[cfg.hidden.length - 1] ?? d;
    this.head = stacked ? null : this.child('head', new Linear({ inDim: d + last, outDim: cfg.logits ?? 1 }, rng));
  }

  override get logitsPerRow(): number {
    return this.cfg.logits ?? 1;
  }

  forward(batch: Batch): Tensor {
    return this.forwardWithRepresentation(batch).logits;
  }

  /**
   * Masks that make this network compute one of its narrower sub-networks (null: the whole
   * network); set by the weight-sharing super-network (superDcnv2.ts) and by nothing else.
   */
  protected subnetMasks: DCNv2Masks | null = null;

  /** The representation is what the logit layer reads: concat(cross, mlp) (parallel), the MLP's last hidden layer (stacked). */
  override forwardWithRepresentation(batch: Batch): RepresentedOutput {
    const m = this.subnetMasks;
    const input = this.input.forward(batch);
    const x0 = m ? mul(input, m.input) : input;
    const xc = this.cross.forward(x0, m?.crossRank);
    let representation: Tensor;
    let out: Tensor;
    if (this.head) {
      representation = concat([xc, this.mlp.forwardWithHidden(x0, m?.mlp).out], 1);
      out = this.head.forward(representation);
    } else {
      ({ hidden: representation, out } = this.mlp.forwardWithHidden(xc, m?.mlp));
    }
    const k = this.logitsPerRow;
    return { logits: reshape(out, k === 1 ? [batch.size] : [batch.size, k]), representation };
  }
}
