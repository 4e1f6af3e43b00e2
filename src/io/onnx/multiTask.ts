/**
 * The multi-task networks (Shared-Bottom, MMoE, PLE, ESMM) as ONNX nodes, one logit per head:
 * expert mixtures are a softmax gate over experts stacked on a new axis, and ESMM's ctcvr is the
 * exact logit of σ(a)·σ(b) (productLogit), −logsumexp(−a, −b, −a−b) with the row's largest term
 * taken out, as the model computes it.
 */
import { ESMM } from '../../models/esmm.js';
import { MMoE } from '../../models/mmoe.js';
import { PLE } from '../../models/ple.js';
import { SharedBottom } from '../../models/sharedBottom.js';
import type { Experts } from '../../nn/mixture.js';
import type { Towers } from '../../nn/towers.js';
import type { GraphBuilder } from './graph.js';
import { concat, featureInput, linear, mlp, type Inputs } from './layers.js';
import type { ModelGraph } from './modelGraph.js';

function experts(g: GraphBuilder, e: Experts, x: string): string[] {
  return e.nets.map((net) => mlp(g, net, x));
}

/** Σ_k softmax(gateLogits)_k · experts[k]: gateLogits [N, K], experts K × [N, d] → [N, d]. */
function mix(g: GraphBuilder, gateLogits: string, outs: readonly string[]): string {
  const stacked = concat(g, outs.map((o) => g.op('Unsqueeze', [o, g.int64s('axes', [1])]))); // [N, K, d]
  const weights = g.op('Unsqueeze', [g.op('Softmax', [gateLogits], [{ name: 'axis', int: 1 }]), g.int64s('axes', [2])]);
  return g.reduceSum(g.op('Mul', [stacked, weights]), [1], false);
}

function towers(g: GraphBuilder, t: Towers, inputs: readonly string[]): Record<string, string> {
  return Object.fromEntries(t.nets.map((net, i) => [t.names[i]!, mlp(g, net, inputs[i]!)]));
}

/** logit(σ(a)·σ(b)) = −(m + ln Σ_j e^(u_j − m)), u = (−a, −b, −a−b), m = max_j u_j. */
function productLogit(g: GraphBuilder, a: string, b: string): string {
  const na = g.op('Neg', [a]);
  const nb = g.op('Neg', [b]);
  const u = concat(g, [na, nb, g.op('Add', [na, nb])]);
  const m = g.op('ReduceMax', [u], [{ name: 'axes', ints: [1] }, { name: 'keepdims', int: 1 }]);
  const lse = g.op('Log', [g.reduceSum(g.op('Exp', [g.op('Sub', [u, m])]), [1], true)]);
  return g.op('Neg', [g.op('Add', [m, lse])]);
}

function pleHeads(g: GraphBuilder, model: PLE, x0: string): Record<string, string> {
  let tasks = model.cfg.tasks.map(() => x0);
  let shared: string | undefined = x0;
  for (const level of model.levels) {
    const s = experts(g, level.shared, shared!);
    const own = level.taskExperts.map((e, t) => experts(g, e, tasks[t]!));
    const next = level.taskGates.map((gate, t) => mix(g, linear(g, gate, tasks[t]!), [...own[t]!, ...s]));
    shared = level.sharedGate ? mix(g, linear(g, level.sharedGate, shared!), [...own.flat(), ...s]) : undefined;
    tasks = next;
  }
  return towers(g, model.towers, tasks);
}

/** Each head's logit [N, 1], by head name; null for a model that is not one of these. */
export function multiTaskGraph(g: GraphBuilder, model: unknown, inp: Inputs): ModelGraph | null {
  if (model instanceof SharedBottom) {
    const h = mlp(g, model.bottom, featureInput(g, model.input, inp));
    return { heads: towers(g, model.towers, model.cfg.tasks.map(() => h)) };
  }
  if (model instanceof MMoE) {
    const x0 = featureInput(g, model.input, inp);
    const f = experts(g, model.experts, x0);
    return { heads: towers(g, model.towers, model.gates.map((gate) => mix(g, linear(g, gate, x0), f))) };
  }
  if (model instanceof PLE) return { heads: pleHeads(g, model, featureInput(g, model.input, inp)) };
  if (model instanceof ESMM) {
    const x0 = featureInput(g, model.input, inp);
    const { ctr, cvr } = towers(g, model.towers, [mlp(g, model.ctrBottom, x0), mlp(g, model.cvrBottom, x0)]);
    return { heads: { ctr: ctr!, cvr: cvr!, ctcvr: productLogit(g, ctr!, cvr!) } };
  }
  return null;
}
