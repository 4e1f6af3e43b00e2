/**
 * Two-tower and Q·U as ONNX nodes: each net over its groups' features (groupInput.ts), the logit
 * the dot product of the two vectors (plus the bias net or intercept for two-tower). The vectors
 * are outputs too, so that a user can precompute one side (items, treatments) elsewhere.
 */
import { FeatureLayout } from '../../data/features.js';
import { groupInputs, type GroupModelConfig } from '../../models/groupInput.js';
import { QU } from '../../models/qu.js';
import { TwoTower } from '../../models/twoTower.js';
import type { MLP } from '../../nn/mlp.js';
import type { GraphBuilder } from './graph.js';
import { checkInputs, groupInput, mlp, param, table, type Inputs } from './layers.js';
import type { ModelGraph } from './modelGraph.js';

/** A net's output [N, outDim] over the features of `groups`. */
function tower(g: GraphBuilder, tbl: string, cfg: GroupModelConfig, groups: readonly string[], net: MLP, inp: Inputs): string {
  const t = groupInputs(new FeatureLayout(cfg.features), groups, 'groups');
  return mlp(g, net, groupInput(g, tbl, t, cfg.dim, inp));
}

function dot(g: GraphBuilder, a: string, b: string): string {
  return g.reduceSum(g.op('Mul', [a, b]), [1], true);
}

/** twotower: ⟨u, v⟩ + b; qu: ⟨Q, U⟩; null for another type. */
export function towersGraph(g: GraphBuilder, model: unknown, inp: Inputs): ModelGraph | null {
  if (model instanceof TwoTower) {
    const { cfg } = model;
    checkInputs(cfg, inp, 'twotower');
    const tbl = table(g, model.emb.weight);
    const u = tower(g, tbl, cfg, cfg.user, model.userTower, inp);
    const v = tower(g, tbl, cfg, cfg.item, model.itemTower, inp);
    const b = model.biasNet ? tower(g, tbl, cfg, cfg.bias, model.biasNet, inp) : param(g, model.intercept!);
    return {
      heads: { '': g.op('Add', [dot(g, u, v), b]) },
      vectors: [{ name: 'user_vector', value: u, dim: cfg.outDim }, { name: 'item_vector', value: v, dim: cfg.outDim }],
    };
  }
  if (model instanceof QU) {
    const { cfg } = model;
    checkInputs(cfg, inp, 'qu');
    const tbl = table(g, model.emb.weight);
    const q = tower(g, tbl, cfg, cfg.q, model.qNet, inp);
    const u = tower(g, tbl, cfg, cfg.u, model.uNet, inp);
    return { heads: { '': dot(g, q, u) }, vectors: [{ name: 'q_vector', value: q, dim: cfg.outDim }, { name: 'u_vector', value: u, dim: cfg.outDim }] };
  }
  return null;
}
