import type { Activation } from '../backend/kernels.js';
import type { Batch } from '../data/batch.js';
import { FeatureLayout, type FeatureInfo } from '../data/features.js';
import { concat, reshape, slice } from '../autograd/ops/layout.js';
import { stepArena } from '../autograd/tape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Embedding } from '../nn/embedding.js';
import { denseTensor } from '../nn/featureInput.js';

/**
 * The input of a sub-network that reads named feature groups (two-tower, Q·U): shared so that
 * every group-addressed model concatenates a group's features the same way.
 */

/** Where a group tower's inputs sit in a batch: id columns, sequence indices, dense columns. */
export interface GroupInputs {
  ids: number[];
  sequences: number[];
  dense: number[];
}

/** The features of `groups` (each once, in schema order); `key` names the config key for errors. */
export function groupInputs(layout: FeatureLayout, groups: readonly string[], key: string): GroupInputs {
  const picked = new Set<FeatureInfo>();
  groups.forEach((g, i) => {
    for (const f of layout.group(g, `${key}[${i}]`)) picked.add(f);
  });
  const of = (kind: FeatureInfo['kind']): number[] => layout.features.filter((f) => picked.has(f) && f.kind === kind).map((f) => f.index);
  return { ids: of('id'), sequences: of('sequence'), dense: of('dense') };
}

/** Width of groupInput's rows. */
export function groupInputWidth(t: GroupInputs, dim: number): number {
  return (t.ids.length + t.sequences.length) * dim + t.dense.length;
}

export interface GroupInputDims {
  dim: number;
  denseDim?: number;
  numSequences?: number;
}

/** The settings every group-addressed model shares (its own groups and widths come on top). */
export interface GroupModelConfig extends GroupInputDims {
  numIds: number;
  /** The batch layout: the model's nets read the features of their groups by name. */
  features: readonly FeatureInfo[];
  activation?: Activation;
  dropout?: number;
  initStd?: number;
  seed?: number;
  numFields: number;
}

/** [B, width]: the groups' id embeddings ‖ mean-pooled sequences ‖ dense columns; `who` names the model in errors. */
export function groupInput(emb: Embedding, batch: Batch, t: GroupInputs, dims: GroupInputDims, who: string): Tensor {
  const { dim } = dims;
  const B = batch.size;
  const S = dims.numSequences ?? 0;
  if ((batch.sequences?.length ?? 0) !== S) {
    throw new Error(`${who}: the model expects ${S} sequence fields, the batch has ${batch.sequences?.length ?? 0}`);
  }
  const parts: Tensor[] = [];
  if (t.ids.length > 0) {
    const F = batch.numFields;
    const ids = stepArena().i32(B * t.ids.length);
    for (let r = 0; r < B; r++) t.ids.forEach((c, j) => void (ids[r * t.ids.length + j] = batch.ids[r * F + c]!));
    parts.push(reshape(emb.lookup(ids), [B, t.ids.length * dim]));
  }
  for (const q of t.sequences) parts.push(emb.bag(batch.sequences![q]!.ids, batch.sequences![q]!.offsets, null, true));
  if (t.dense.length > 0) {
    const all = denseTensor(batch, dims.denseDim ?? 0, who);
    for (const c of t.dense) parts.push(slice(all, 1, c, c + 1));
  }
  return parts.length === 1 ? parts[0]! : concat(parts, 1);
}
