/** LR, FM, DNN and DCN-v2 (one logit per row, or JRC's two) as ONNX nodes. */
import { DCNv2 } from '../../models/dcnv2.js';
import { DNN } from '../../models/dnn.js';
import { FM } from '../../models/fm.js';
import { LR } from '../../models/lr.js';
import type { GraphBuilder } from './graph.js';
import { checkInputs, crossNet, featureInput, linear, lookup, mlp, OnnxExportError, param, pooled, table, type Inputs } from './layers.js';
import type { ModelGraph } from './modelGraph.js';

/** LR's logit [N, 1]. */
function lrLogit(g: GraphBuilder, m: LR, inp: Inputs): string {
  const w = table(g, m.w);
  let z = param(g, m.bias);
  if (inp.fieldIds) z = g.op('Add', [z, g.reduceSum(lookup(g, w, inp.fieldIds), [1], false)]);
  for (const s of inp.seqs) z = g.op('Add', [z, pooled(g, w, s)]);
  if (m.v && inp.dense) z = g.op('Add', [z, g.op('MatMul', [inp.dense, param(g, m.v)])]);
  if (!inp.fieldIds && inp.seqs.length === 0 && !inp.dense) throw new OnnxExportError('the model has no inputs (no id, sequence or dense field)');
  return z;
}

function fmLogit(g: GraphBuilder, m: FM, inp: Inputs): string {
  const linearPart = lrLogit(g, m.linearPart, inp);
  if (!inp.fieldIds) return linearPart;
  const v = lookup(g, table(g, m.emb.weight), inp.fieldIds);
  const s = g.reduceSum(v, [1], false);
  const pair = g.op('Sub', [g.op('Mul', [s, s]), g.reduceSum(g.op('Mul', [v, v]), [1], false)]);
  return g.op('Add', [linearPart, g.op('Mul', [g.reduceSum(pair, [1], true), g.scalar('half', 0.5)])]);
}

/** [N, k] head output → the serving logit [N, 1]: itself for k = 1, z¹ − z⁰ for the JRC head. */
function servingLogit(g: GraphBuilder, out: string, k: number): string {
  if (k === 1) return out;
  if (k !== 2) throw new OnnxExportError(`no ONNX form for a head with ${k} logits per row`);
  const pick = (i: number): string => g.op('Gather', [out, g.int64s('col', [i], [1])], [{ name: 'axis', int: 1 }]);
  return g.op('Sub', [pick(1), pick(0)]);
}

function dcnv2Output(g: GraphBuilder, m: DCNv2, inp: Inputs): string {
  const x0 = featureInput(g, m.input, inp);
  const xc = crossNet(g, m.cross, x0);
  return m.head ? linear(g, m.head, g.op('Concat', [xc, mlp(g, m.mlp, x0)], [{ name: 'axis', int: 1 }])) : mlp(g, m.mlp, xc);
}

/** The graph of an lr / fm / dnn / dcnv2 model, or null for another type. */
export function classicGraph(g: GraphBuilder, model: unknown, inp: Inputs): ModelGraph | null {
  if (model instanceof LR || model instanceof FM) {
    checkInputs({ numFields: inp.numFields, ...model.cfg }, inp, model.kind);
    return { heads: { '': model instanceof LR ? lrLogit(g, model, inp) : fmLogit(g, model, inp) } };
  }
  if (model instanceof DNN) {
    const deep = servingLogit(g, mlp(g, model.mlp, featureInput(g, model.input, inp)), model.logitsPerRow);
    return { heads: { '': model.wide ? g.op('Add', [deep, lrLogit(g, model.wide, inp)]) : deep } };
  }
  if (model instanceof DCNv2) return { heads: { '': servingLogit(g, dcnv2Output(g, model, inp), model.logitsPerRow) } };
  return null;
}
