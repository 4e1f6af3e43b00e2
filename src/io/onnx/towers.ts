/**
 * Two-tower and Q·U as ONNX nodes: each net over its groups' features (groupInput.ts), the logit
 * the dot product of the two vectors (plus the bias net or intercept for two-tower). The vectors
 * are outputs too, so that a user can precompute one side (items, treatments) elsewhere.
 */
import { FeatureLayout } from '../../data/features.js';
import { groupInputs } from '../../models/groupInput.js';
import { QU } from '../../models/qu.js';
import { TwoTower } from '../../models/twoTower.js';
import type { MLP } from '../../nn/mlp.js';
import type { GraphBuilder } from './graph.js';
import { checkInputs, groupInput, mlp, param, table, type Inputs } from './layers.js';
import type { ModelGraph } from './modelGraph.js';

function dot(g: GraphBuilder, a: string, b: string): string {
  return g.reduceSum(g.op('Mul', [a, b]), [1], true);
}

/** Each net's output [N, outDim] over the features of its groups, all reading the model's one table. */
function nets(g: GraphBuilder, model: TwoTower | QU, inp: Inputs, towers: readonly (readonly [readonly string[], MLP])[]): string[] {
  const { cfg } = model;
  checkInputs(cfg, inp, model.kind);
  const tbl = table(g, model.emb.weight);
  const layout = new FeatureLayout(cfg.features);
  return towers.map(([groups, net]) => mlp(g, net, groupInput(g, tbl, groupInputs(layout, groups, 'groups'), cfg.dim, inp)));
}

/** twotower: ⟨u, v⟩ + b; qu: ⟨Q, U⟩; null for another type. */
export function towersGraph(g: GraphBuilder, model: unknown, inp: Inputs): ModelGraph | null {
  if (model instanceof TwoTower) {
    const { cfg } = model;
    const [u, v, b] = nets(g, model, inp, [[cfg.user, model.userTower], [cfg.item, model.itemTower], ...(model.biasNet ? [[cfg.bias, model.biasNet] as const] : [])]);
    return {
      heads: { '': g.op('Add', [dot(g, u!, v!), b ?? param(g, model.intercept!)]) },
      vectors: [{ name: 'user_vector', value: u!, dim: cfg.outDim }, { name: 'item_vector', value: v!, dim: cfg.outDim }],
    };
  }
  if (model instanceof QU) {
    const { cfg } = model;
    const [q, u] = nets(g, model, inp, [[cfg.q, model.qNet], [cfg.u, model.uNet]]);
    return { heads: { '': dot(g, q!, u!) }, vectors: [{ name: 'q_vector', value: q!, dim: cfg.outDim }, { name: 'u_vector', value: u!, dim: cfg.outDim }] };
  }
  return null;
}
