import type { Activation } from '../backend/kernels.js';
import type { Batch } from '../data/batch.js';
import { FeatureLayout, type FeatureInfo } from '../data/features.js';
import { concat, reshape, slice } from '../autograd/ops/layout.js';
import { stepArena } from '../autograd/tape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { Embedding } from '../nn/embedding.js';
import { denseTensor } from '../nn/featureInput.js';
import { MLP } from '../nn/mlp.js';
import { TargetAttention } from '../nn/targetAttention.js';
import { CTRModel } from './ctrModel.js';

export interface DINAttentionPair {
  /** A sequence feature: the behaviour history (oldest event first). */
  sequence: string;
  /** An id feature: the candidate the history is weighed against. */
  target: string;
}

export interface DINConfig {
  numIds: number;
  numFields: number;
  dim: number;
  /** The batch layout: features are addressed by name. */
  features: readonly FeatureInfo[];
  attention: readonly DINAttentionPair[];
  attentionHidden: readonly number[];
  attentionActivation?: Activation;
  hidden: readonly number[];
  activation?: Activation;
  dropout?: number;
  /** Only each row's last maxLen events are attended (histories are chronological). */
  maxLen?: number;
  initStd?: number;
  seed?: number;
  denseDim?: number;
  numSequences?: number;
}

/** A row's events, jagged: row s has ids[offsets[s] .. offsets[s+1]). */
interface Events {
  ids: Int32Array;
  offsets: Int32Array;
}

/** The last maxLen events of each row (the input itself when no row has more). */
export function recentEvents(seq: Events, rows: number, maxLen: number | undefined): Events {
  const { ids, offsets } = seq;
  if (maxLen === undefined) return seq;
  let over = false;
  for (let s = 0; s < rows && !over; s++) over = offsets[s + 1]! - offsets[s]! > maxLen;
  if (!over) return seq;
  const out = new Int32Array(rows + 1);
  for (let s = 0; s < rows; s++) out[s + 1] = out[s]! + Math.min(maxLen, offsets[s + 1]! - offsets[s]!);
  const kept = new Int32Array(out[rows]!);
  for (let s = 0; s < rows; s++) kept.set(ids.subarray(offsets[s + 1]! - (out[s + 1]! - out[s]!), offsets[s + 1]!), out[s]!);
  return { ids: kept, offsets: out };
}

/**
 * Deep Interest Network (SPEC §4): each configured behaviour sequence is pooled by target attention
 * against its own target field; other sequences are mean-pooled. x = [id field embeddings (targets
 * included) ‖ attention-pooled ‖ mean-pooled ‖ dense] → MLP → one logit.
 */
export class DIN extends CTRModel {
  readonly kind = 'din';

  override get featureLayout(): readonly FeatureInfo[] {
    return this.cfg.features;
  }
  readonly emb: Embedding;
  readonly units: TargetAttention[] = [];
  readonly mlp: MLP;
  /** Per attention pair: the sequence index and the target's id column. */
  private readonly pairs: { seq: number; col: number }[];
  private readonly pooledMean: number[];

  /** Throws FeatureLookupError (naming `attention[i].sequence` / `.target`) for names the layout lacks. */
  constructor(readonly cfg: DINConfig) {
    super();
    const layout = new FeatureLayout(cfg.features);
    this.pairs = cfg.attention.map((p, i) => ({
      seq: layout.get(p.sequence, 'sequence', `attention[${i}].sequence`).index,
      col: layout.get(p.target, 'id', `attention[${i}].target`).index,
    }));
    const S = cfg.numSequences ?? 0;
    this.pooledMean = [...Array(S).keys()].filter((q) => !this.pairs.some((p) => p.seq === q));
    const rng = new Rng(cfg.seed ?? 0);
    this.emb = this.child('emb', new Embedding({ numRows: cfg.numIds, dim: cfg.dim, initStd: cfg.initStd }, rng));
    cfg.attention.forEach((_, i) => {
      this.units.push(this.child(`attention.${i}`, new TargetAttention({ dim: cfg.dim, hidden: cfg.attentionHidden, activation: cfg.attentionActivation }, rng)));
    });
    const inDim = (cfg.numFields + this.pairs.length + this.pooledMean.length) * cfg.dim + (cfg.denseDim ?? 0);
    this.mlp = this.child('mlp', new MLP({ inDim, hidden: cfg.hidden, outDim: 1, activation: cfg.activation ?? 'relu', dropout: cfg.dropout }, rng));
  }

  forward(batch: Batch): Tensor {
    const { dim } = this.cfg;
    const B = batch.size;
    const S = this.cfg.numSequences ?? 0;
    if ((batch.sequences?.length ?? 0) !== S) {
      throw new Error(`DIN: the model expects ${S} sequence fields, the batch has ${batch.sequences?.length ?? 0}`);
    }
    const events = this.pairs.map(({ seq }) => recentEvents(batch.sequences![seq]!, B, this.cfg.maxLen));
    // One lookup for the id fields and every attended history: the table then reduces a single
    // pending gradient, instead of merging one per lookup (the merge cost ~15 % of a step).
    const nFields = B * batch.numFields;
    let total = nFields;
    for (const ev of events) total += ev.offsets[B]!;
    let ids = batch.ids.subarray(0, nFields);
    if (total > nFields) {
      ids = stepArena().i32(total);
      ids.set(batch.ids.subarray(0, nFields));
      let at = nFields;
      for (const ev of events) {
        ids.set(ev.ids.subarray(0, ev.offsets[B]!), at);
        at += ev.offsets[B]!;
      }
    }
    const all = this.emb.lookup(ids, total);
    const fields = reshape(total > nFields ? slice(all, 0, 0, nFields) : all, [B, batch.numFields * dim]);
    const parts = [fields];
    let at = nFields;
    this.pairs.forEach(({ col }, i) => {
      const ev = events[i]!;
      const P = ev.offsets[B]!;
      const behaviour = slice(all, 0, at, at + P);
      at += P;
      parts.push(this.units[i]!.forward(behaviour, slice(fields, 1, col * dim, (col + 1) * dim), ev.offsets));
    });
    for (const q of this.pooledMean) parts.push(this.emb.bag(batch.sequences![q]!.ids, batch.sequences![q]!.offsets, null, true));
    const D = this.cfg.denseDim ?? 0;
    if (D > 0) parts.push(denseTensor(batch, D, 'DIN'));
    return reshape(this.mlp.forward(concat(parts, 1)), [B]);
  }
}
