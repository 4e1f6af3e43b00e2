import { add, mul, scale, sub } from '../autograd/ops/elementwise.js';
import { concat, reshape } from '../autograd/ops/layout.js';
import { sum } from '../autograd/ops/reduce.js';
import { logSoftmax } from '../autograd/ops/softmax.js';
import type { Batch } from '../data/batch.js';
import { MLP } from '../nn/mlp.js';
import { Towers } from '../nn/towers.js';
import { Tensor, type Parameter } from '../tensor/tensor.js';
import type { HeadLogits } from './ctrModel.js';
import { MultiTaskNet, type MultiTaskNetConfig } from './multiTaskNet.js';

export const ESMM_HEADS = ['ctr', 'cvr', 'ctcvr'] as const;

export interface ESMMConfig extends MultiTaskNetConfig {
  /** Hidden widths of the CTR net's and the CVR net's bottom MLPs. */
  bottom: readonly number[];
}

/**
 * The exact logit of σ(a)·σ(b), for a, b [B]: 1/(σ(a)σ(b)) = 1 + e^−a + e^−b + e^−a−b, so
 * logit(σ(a)σ(b)) = −log(e^−a + e^−b + e^−a−b) = −logsumexp(u), u = (−a, −b, −a−b); and
 * logSoftmax(u)_j − u_j equals it for every j. Taking, per row, the j of the largest u_j (a
 * constant choice, so the gradient is that column's) keeps the logSoftmax term in [−log 3, 0]:
 * no large value cancels, the result has float32's relative precision for any finite a, b, and
 * BCE-with-logits on it is the stable −log(1 − σ(a)σ(b)), which 1 − p in floating point is not.
 */
export function productLogit(a: Tensor, b: Tensor): Tensor {
  const B = a.shape[0]!;
  const col = (t: Tensor): Tensor => reshape(t, [B, 1]);
  const na = scale(a, -1);
  const nb = scale(b, -1);
  const u = concat([col(na), col(nb), col(add(na, nb))], 1);
  const largest = new Float32Array(B * 3);
  for (let r = 0; r < B; r++) {
    const [x, y, z] = [u.data[3 * r]!, u.data[3 * r + 1]!, u.data[3 * r + 2]!];
    largest[3 * r + (x >= y && x >= z ? 0 : y >= z ? 1 : 2)] = 1;
  }
  return sum(mul(sub(logSoftmax(u, 1), u), new Tensor(largest, [B, 3])), 1);
}

/**
 * ESMM (Ma et al. 2018): shared embeddings; a CTR net and a CVR net, each bottom MLP + tower,
 * give logits a and b; pCTCVR = pCTR · pCVR, whose logit is productLogit(a, b). Heads 'ctr', 'cvr',
 * 'ctcvr': trained on ctr and ctcvr over all impressions, the CVR net learns only through ctcvr.
 */
export class ESMM extends MultiTaskNet<ESMMConfig> {
  readonly kind = 'esmm';
  readonly ctrBottom: MLP;
  readonly cvrBottom: MLP;
  readonly towers: Towers;

  constructor(cfg: ESMMConfig) {
    super(cfg);
    const bottom = (): MLP => new MLP({ inDim: this.input.outDim, hidden: cfg.bottom, ...this.layerOpts }, this.rng);
    this.ctrBottom = this.child('ctrBottom', bottom());
    this.cvrBottom = this.child('cvrBottom', bottom());
    this.towers = this.child('towers', new Towers(['ctr', 'cvr'], this.ctrBottom.outDim, cfg.tower, this.layerOpts, this.rng));
  }

  override get heads(): readonly string[] {
    return ESMM_HEADS;
  }

  forwardHeads(batch: Batch): HeadLogits {
    const x0 = this.input.forward(batch);
    const { ctr, cvr } = this.towers.forward([this.ctrBottom.forward(x0), this.cvrBottom.forward(x0)]);
    return { ctr: ctr!, cvr: cvr!, ctcvr: productLogit(ctr!, cvr!) };
  }

  /**
   * None: the two nets share only the embedding table, a row-sparse lookup rather than a dense
   * layer, so there is no shared layer for GradNorm to balance on.
   */
  lastSharedLayer(): Parameter[] {
    return [];
  }
}
