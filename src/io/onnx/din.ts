/**
 * DIN as ONNX nodes. A history is the padded sequence input with its mask; target attention is
 * computed for every position and the mask zeroes the padding's weights, which equals ctrkit's
 * jagged segments (an empty history pools to 0). maxLen keeps each row's last maxLen real events:
 * a position is kept while the count of real events from it to the end (a reversed CumSum of the
 * mask) is at most maxLen.
 */
import { FeatureLayout } from '../../data/features.js';
import { DIN } from '../../models/din.js';
import type { TargetAttention } from '../../nn/targetAttention.js';
import type { GraphBuilder } from './graph.js';
import { activation, checkInputs, concat, lookup, maskedSum, mlp, pooled, table, type Inputs, type SeqInput } from './layers.js';
import type { ModelGraph } from './modelGraph.js';
import { DataType } from './proto.js';

/** The mask of each row's last `maxLen` real events. */
function recentMask(g: GraphBuilder, mask: string, maxLen: number | undefined): string {
  if (maxLen === undefined) return mask;
  const fromEnd = g.op('CumSum', [mask, g.int64s('axis', [1], [])], [{ name: 'reverse', int: 1 }]);
  const kept = g.op('Cast', [g.op('LessOrEqual', [fromEnd, g.scalar('max_len', maxLen)])], [{ name: 'to', int: DataType.FLOAT }]);
  return g.op('Mul', [mask, kept]);
}

/** W's rows [k·dim, (k+1)·dim) combined in float32 as the model combines them: a ± b. */
function block(W: Float32Array, dim: number, out: number, k: number): Float32Array {
  return W.slice(k * dim * out, (k + 1) * dim * out);
}

/**
 * Σ_j a_j·e_j over the kept events, a_j = MLP(act(e_j·(W1+W3) + e_t·(W2−W3) + (e_j ⊙ e_t)·W4 + b)):
 * the first layer split by blocks as TargetAttention.forward's multi-layer path computes it (its
 * one-layer kernel folds the same blocks per row: the same function, rounded differently).
 */
function attention(g: GraphBuilder, unit: TargetAttention, tbl: string, seq: SeqInput, target: string, maxLen: number | undefined): string {
  const { dim } = unit.cfg;
  const W = unit.input.W!;
  const h = W.shape[1]!;
  const w = (k: number): Float32Array => block(W.data, dim, h, k);
  const sum = (a: Float32Array, b: Float32Array, sign: 1 | -1): Float32Array => a.map((v, i) => v + sign * b[i]!);
  const behaviour = lookup(g, tbl, seq.ids); // [N, L, dim]
  const t = g.op('Unsqueeze', [target, g.int64s('axes', [1])]); // [N, 1, dim]
  const perRow = g.op('MatMul', [t, g.floats('att_w2_w3', sum(w(1), w(2), -1), [dim, h])]);
  let z = g.op('Add', [g.op('MatMul', [behaviour, g.floats('att_w1_w3', sum(w(0), w(2), 1), [dim, h])]), perRow]);
  z = g.op('Add', [z, g.op('MatMul', [g.op('Mul', [behaviour, t]), g.floats('att_w4', w(3), [dim, h])])]);
  if (unit.input.b) z = g.op('Add', [z, g.floats('att_b', unit.input.b.data, [h])]);
  const a = mlp(g, unit.mlp, activation(g, z, unit.cfg.activation ?? 'relu')); // [N, L, 1]
  return maskedSum(g, g.op('Mul', [behaviour, a]), recentMask(g, seq.mask, maxLen));
}

/** x = [id field embeddings ‖ attention-pooled ‖ mean-pooled ‖ dense] → MLP → one logit. */
export function dinGraph(g: GraphBuilder, model: unknown, inp: Inputs): ModelGraph | null {
  if (!(model instanceof DIN)) return null;
  const { cfg } = model;
  checkInputs(cfg, inp, 'din');
  const layout = new FeatureLayout(cfg.features);
  const pairs = cfg.attention.map((p) => ({ seq: layout.get(p.sequence, 'sequence', 'sequence').index, col: layout.get(p.target, 'id', 'target').index }));
  const tbl = table(g, model.emb.weight);
  const fields = lookup(g, tbl, inp.fieldIds!); // [N, F, dim]
  const parts = [g.reshape(fields, [0, inp.numFields * cfg.dim])];
  pairs.forEach(({ seq, col }, i) => {
    const target = g.op('Gather', [fields, g.int64s('target', [col], [])], [{ name: 'axis', int: 1 }]);
    parts.push(attention(g, model.units[i]!, tbl, inp.seqs[seq]!, target, cfg.maxLen));
  });
  inp.seqs.forEach((s, q) => {
    if (!pairs.some((p) => p.seq === q)) parts.push(pooled(g, tbl, s));
  });
  if (inp.dense) parts.push(inp.dense);
  return { heads: { '': mlp(g, model.mlp, concat(g, parts)) } };
}
