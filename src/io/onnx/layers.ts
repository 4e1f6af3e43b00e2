/**
 * The graph's inputs and the layers every model family is built from (embedding lookups, pooling,
 * dense layers, MLPs, cross networks, the shared feature input), each as ONNX nodes that compute
 * what the ctrkit module computes at inference (dropout is the identity).
 */
import type { Activation } from '../../backend/kernels.js';
import type { FeatureInput } from '../../nn/featureInput.js';
import type { Linear } from '../../nn/linear.js';
import type { MLP } from '../../nn/mlp.js';
import type { CrossNet } from '../../nn/crossNet.js';
import type { EmbeddingTable, Parameter } from '../../tensor/tensor.js';
import type { FittedSchema } from '../../schema/fitted.js';
import type { GroupInputs } from '../../models/groupInput.js';
import type { GraphBuilder } from './graph.js';
import { DataType } from './proto.js';
import { int8Kernels } from '../../backend/int8.js';

export const N = 'N';

/** The model or its calibration has no exact ONNX form (a user error: the message says which part). */
export class OnnxExportError extends Error {
  override readonly name = 'OnnxExportError';
}

/** A sequence input: global ids [N, L] and its 0/1 mask [N, L]. */
export interface SeqInput {
  ids: string;
  mask: string;
}

/** The encoded inputs of the graph, their fields, and where the graph adds the table offsets. */
export interface Inputs {
  /** Global ids [N, F], or null without id fields. */
  fieldIds: string | null;
  numFields: number;
  seqs: SeqInput[];
  dense: string | null;
  denseDim: number;
}

export function declareInputs(g: GraphBuilder, fitted: FittedSchema): Inputs {
  const F = fitted.spec.fields.length;
  const fieldIds = F > 0 ? g.op('Add', [g.input('ids', DataType.INT64, [N, F]), g.int64s('field_offsets', Array.from(fitted.fieldOffsets), [1, F])]) : null;
  const seqs = fitted.spec.sequences.map((_, q) => ({
    ids: g.op('Add', [g.input(`seq_${q}_ids`, DataType.INT64, [N, `L${q}`]), g.int64s(`seq_${q}_offset`, [fitted.sequenceOffsets[q]!], [])]),
    mask: g.input(`seq_${q}_mask`, DataType.FLOAT, [N, `L${q}`]),
  }));
  const D = fitted.spec.dense.length;
  const dense = D > 0 ? g.input('dense', DataType.FLOAT, [N, D]) : null;
  return { fieldIds, numFields: F, seqs, dense, denseDim: D };
}

/** Fails unless the model was built for as many fields, sequences and dense columns as the schema encodes. */
export function checkInputs(model: { numFields: number; numSequences?: number; denseDim?: number }, inp: Inputs, kind: string): void {
  const want = { numFields: model.numFields, numSequences: model.numSequences ?? 0, denseDim: model.denseDim ?? 0 };
  const got = { numFields: inp.numFields, numSequences: inp.seqs.length, denseDim: inp.denseDim };
  for (const k of ['numFields', 'numSequences', 'denseDim'] as const) {
    if (want[k] !== got[k]) throw new OnnxExportError(`${kind}: the model has ${k} ${want[k]}, its fitted schema ${got[k]}`);
  }
}

export function table(g: GraphBuilder, t: EmbeddingTable): string {
  return g.floats(t.name, t.data, [t.numRows, t.dim]);
}

export function param(g: GraphBuilder, p: Parameter): string {
  return g.floats(p.name, p.data, p.shape);
}

/** Rows of `tbl` for int64 ids of any shape: shape(ids) + [dim]. */
export function lookup(g: GraphBuilder, tbl: string, ids: string): string {
  return g.op('Gather', [tbl, ids], [{ name: 'axis', int: 0 }]);
}

/** Columns `cols` of x [N, C] → [N, cols.length]. */
export function columns(g: GraphBuilder, x: string, cols: readonly number[]): string {
  return g.op('Gather', [x, g.int64s('cols', cols)], [{ name: 'axis', int: 1 }]);
}

/** Σ_j mask_j·x_j over axis 1 of x [N, L, d] with mask [N, L] → [N, d]. */
export function maskedSum(g: GraphBuilder, x: string, mask: string): string {
  return g.reduceSum(g.op('Mul', [x, g.op('Unsqueeze', [mask, g.int64s('axes', [2])])]), [1], false);
}

/** Mean of a sequence's embeddings [N, dim]: Σ mask·E[id] / max(Σ mask, 1), as embeddingBag's mean (an empty bag is zeros). */
export function pooled(g: GraphBuilder, tbl: string, seq: SeqInput): string {
  const count = g.op('Max', [g.reduceSum(seq.mask, [1], true), g.scalar('one', 1)]);
  return g.op('Div', [maskedSum(g, lookup(g, tbl, seq.ids), seq.mask), count]);
}

export function activation(g: GraphBuilder, x: string, act: Activation, smeluBeta = 1): string {
  switch (act) {
    case 'none': return x;
    case 'relu': return g.op('Relu', [x]);
    case 'sigmoid': return g.op('Sigmoid', [x]);
    case 'tanh': return g.op('Tanh', [x]);
    case 'smelu': {
      // 0 below −β, (z+β)²/(4β) on [−β, β], z above β; β = 0 is ReLU.
      const beta = smeluBeta;
      if (beta === 0) return g.op('Relu', [x]);
      const t = g.op('Add', [g.op('Max', [g.op('Min', [x, g.scalar('beta', beta)]), g.scalar('neg_beta', -beta)]), g.scalar('beta', beta)]);
      const quad = g.op('Mul', [g.op('Mul', [t, t]), g.scalar('inv4b', 1 / (4 * beta))]);
      return g.op('Where', [g.op('Greater', [x, g.scalar('beta', beta)]), x, quad]);
    }
    default: throw new OnnxExportError(`no ONNX form for the activation '${String(act)}'`);
  }
}

/** x·W + b then the layer's activation; x may have leading axes ([N, in] or [N, L, in]). */
export function linear(g: GraphBuilder, l: Linear, x: string): string {
  let y = l.W && g.precision === 'int8' ? int8MatMul(g, x, l.W.data, l.cfg.inDim, l.cfg.outDim)
    : l.W ? g.op('MatMul', [x, param(g, l.W)]) : g.op('MatMul', [g.op('MatMul', [x, param(g, l.U!)]), param(g, l.V!)]);
  if (l.b) y = g.op('Add', [y, param(g, l.b)]);
  return activation(g, y, l.cfg.activation ?? 'none', l.cfg.smeluBeta ?? 1);
}

/**
 * x·W with W quantised as ctrkit's int8 scorer quantises it (per column, symmetric) and x
 * quantised per tensor by the graph (DynamicQuantizeLinear, uint8): the pattern onnxruntime's own
 * dynamic quantisation writes (MatMulInteger, then the int32 sums scaled back to float).
 */
function int8MatMul(g: GraphBuilder, x: string, W: Float32Array, inDim: number, outDim: number): string {
  const q = new Int8Array(inDim * outDim);
  const scale = new Float32Array(outDim);
  int8Kernels().int8QuantizeWeights(W, inDim, outDim, q, scale);
  const [xq, xScale, xZero] = g.ops('DynamicQuantizeLinear', [x], 3);
  const sums = g.op('MatMulInteger', [xq!, g.int8s('w_int8', q, [inDim, outDim]), xZero!]);
  const scales = g.op('Mul', [xScale!, g.floats('w_scale', scale, [outDim])]);
  return g.op('Mul', [g.op('Cast', [sums], [{ name: 'to', int: DataType.FLOAT }]), scales]);
}

/** The MLP's output. */
export function mlp(g: GraphBuilder, m: MLP, x: string): string {
  for (const l of m.layers) x = linear(g, l, x);
  return x;
}

export function crossNet(g: GraphBuilder, c: CrossNet, x0: string): string {
  let x = x0;
  c.layers.forEach((l, i) => {
    let term = g.op('Mul', [x0, linear(g, l, x)]);
    const gate = c.gates[i];
    if (gate) term = g.op('Mul', [term, param(g, gate)]);
    x = g.op('Add', [term, x]);
  });
  return x;
}

/** Concatenation along axis 1 (one part is itself). */
export function concat(g: GraphBuilder, parts: readonly string[]): string {
  return parts.length === 1 ? parts[0]! : g.op('Concat', parts, [{ name: 'axis', int: 1 }]);
}

/** x0 = [field embeddings ‖ pooled sequences ‖ dense], [N, outDim]. */
export function featureInput(g: GraphBuilder, fi: FeatureInput, inp: Inputs): string {
  checkInputs(fi.cfg, inp, 'FeatureInput');
  const tbl = table(g, fi.emb.weight);
  const parts: string[] = [];
  if (inp.fieldIds) parts.push(g.reshape(lookup(g, tbl, inp.fieldIds), [0, inp.numFields * fi.cfg.dim]));
  for (const s of inp.seqs) parts.push(pooled(g, tbl, s));
  if (inp.dense) parts.push(inp.dense);
  return concat(g, parts);
}

/** A group tower's input (groupInput.ts): the groups' id embeddings ‖ pooled sequences ‖ dense columns. */
export function groupInput(g: GraphBuilder, tbl: string, t: GroupInputs, dim: number, inp: Inputs): string {
  const parts: string[] = [];
  if (t.ids.length > 0) parts.push(g.reshape(lookup(g, tbl, columns(g, inp.fieldIds!, t.ids)), [0, t.ids.length * dim]));
  for (const q of t.sequences) parts.push(pooled(g, tbl, inp.seqs[q]!));
  if (t.dense.length > 0) parts.push(columns(g, inp.dense!, t.dense));
  if (parts.length === 0) throw new OnnxExportError('a tower has no inputs');
  return concat(g, parts);
}
