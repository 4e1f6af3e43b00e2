/**
 * A trained ctrkit model as an ONNX graph that scores encoded rows to the probability `ctrkit
 * predict` reports: the model's logit (z¹ − z⁰ for a two-logit JRC head), then the stored
 * calibration (Platt, isotonic as a clipped piecewise-linear lookup, downsampling, chains) or, when
 * there is none, σ with the recorded sampling correction. Inference only: dropout is the identity
 * and DCN-v2's cross ramp is at its final value 1, as in predict.
 *
 * Inputs (N rows; local ids are the fitted schema's: vocabulary index + 1, 0 = OOV, hash bucket,
 * bucket; the graph adds each field's offset into the shared embedding table):
 *   ids           int64 [N, F]    one local id per id field, in schema order
 *   seq_<q>_ids   int64 [N, L]    sequence field q's local ids, padded to any L
 *   seq_<q>_mask  float [N, L]    1 for a real token, 0 for padding (the mean is over the 1s; none → zeros)
 *   dense         float [N, D]    dense features after their transform (missing → 0)
 * Outputs: probability float [N], logit float [N] (the model's logit before calibration).
 *
 * Embeddings are Gather + mask + ReduceSum, no loops; the calibration is computed in float64.
 */
import type { CTRModel } from '../../models/ctrModel.js';
import { DCNv2 } from '../../models/dcnv2.js';
import { DNN } from '../../models/dnn.js';
import { FM } from '../../models/fm.js';
import { LR } from '../../models/lr.js';
import type { FeatureInput } from '../../nn/featureInput.js';
import type { Linear } from '../../nn/linear.js';
import type { MLP } from '../../nn/mlp.js';
import type { CrossNet } from '../../nn/crossNet.js';
import type { EmbeddingTable, Parameter } from '../../tensor/tensor.js';
import type { FittedSchema } from '../../schema/fitted.js';
import { calibratorFromJSON, type Calibrator } from '../../calibrate/calibrator.js';
import type { ModelManifest } from '../modelFile.js';
import { GraphBuilder } from './graph.js';
import { DataType, encodeModel } from './proto.js';

export const ONNX_OPSET = 17;
const IR_VERSION = 8;
const N = 'N';

/** The model or its calibration has no exact ONNX form (a user error: the message says which part). */
export class OnnxExportError extends Error {
  override readonly name = 'OnnxExportError';
}

/** The encoded inputs of the graph, their fields, and where the graph adds the table offsets. */
interface Inputs {
  /** Global ids [N, F], or null without id fields. */
  fieldIds: string | null;
  numFields: number;
  seqs: { ids: string; mask: string }[];
  dense: string | null;
  denseDim: number;
}

function declareInputs(g: GraphBuilder, fitted: FittedSchema): Inputs {
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

function table(g: GraphBuilder, t: EmbeddingTable): string {
  return g.floats(t.name, t.data, [t.numRows, t.dim]);
}

function param(g: GraphBuilder, p: Parameter): string {
  return g.floats(p.name, p.data, p.shape);
}

/** Mean of a sequence's embeddings [N, dim]: Σ mask·E[id] / max(Σ mask, 1), as embeddingBag's mean (an empty bag is zeros). */
function pooled(g: GraphBuilder, tbl: string, seq: { ids: string; mask: string }): string {
  const rows = g.op('Gather', [tbl, seq.ids], [{ name: 'axis', int: 0 }]);
  const masked = g.op('Mul', [rows, g.op('Unsqueeze', [seq.mask, g.int64s('axes', [2])])]);
  const count = g.op('Max', [g.reduceSum(seq.mask, [1], true), g.scalar('one', 1)]);
  return g.op('Div', [g.reduceSum(masked, [1], false), count]);
}

function checkInputs(model: { numFields: number; numSequences: number; denseDim: number }, inp: Inputs, kind: string): void {
  const got = { numFields: inp.numFields, numSequences: inp.seqs.length, denseDim: inp.denseDim };
  for (const k of ['numFields', 'numSequences', 'denseDim'] as const) {
    if (model[k] !== got[k]) throw new OnnxExportError(`${kind}: the model has ${k} ${model[k]}, its fitted schema ${got[k]}`);
  }
}

/** LR's logit [N, 1]. */
function lrLogit(g: GraphBuilder, m: LR, inp: Inputs): string {
  const w = table(g, m.w);
  let z = param(g, m.bias);
  if (inp.fieldIds) z = g.op('Add', [z, g.reduceSum(g.op('Gather', [w, inp.fieldIds], [{ name: 'axis', int: 0 }]), [1], false)]);
  for (const s of inp.seqs) z = g.op('Add', [z, pooled(g, w, s)]);
  if (m.v && inp.dense) z = g.op('Add', [z, g.op('MatMul', [inp.dense, param(g, m.v)])]);
  if (!inp.fieldIds && inp.seqs.length === 0 && !inp.dense) throw new OnnxExportError('the model has no inputs (no id, sequence or dense field)');
  return z;
}

function fmLogit(g: GraphBuilder, m: FM, inp: Inputs): string {
  const linear = lrLogit(g, m.linearPart, inp);
  if (!inp.fieldIds) return linear;
  const v = g.op('Gather', [table(g, m.emb.weight), inp.fieldIds], [{ name: 'axis', int: 0 }]);
  const s = g.reduceSum(v, [1], false);
  const pair = g.op('Sub', [g.op('Mul', [s, s]), g.reduceSum(g.op('Mul', [v, v]), [1], false)]);
  return g.op('Add', [linear, g.op('Mul', [g.reduceSum(pair, [1], true), g.scalar('half', 0.5)])]);
}

/** x0 = [field embeddings ‖ pooled sequences ‖ dense], [N, outDim]. */
function featureInput(g: GraphBuilder, fi: FeatureInput, inp: Inputs): string {
  checkInputs({ numFields: fi.cfg.numFields, numSequences: fi.cfg.numSequences ?? 0, denseDim: fi.cfg.denseDim ?? 0 }, inp, 'FeatureInput');
  const tbl = table(g, fi.emb.weight);
  const parts: string[] = [];
  if (inp.fieldIds) parts.push(g.reshape(g.op('Gather', [tbl, inp.fieldIds], [{ name: 'axis', int: 0 }]), [0, inp.numFields * fi.cfg.dim]));
  for (const s of inp.seqs) parts.push(pooled(g, tbl, s));
  if (inp.dense) parts.push(inp.dense);
  return parts.length === 1 ? parts[0]! : g.op('Concat', parts, [{ name: 'axis', int: 1 }]);
}

function activation(g: GraphBuilder, x: string, l: Linear): string {
  const act = l.cfg.activation ?? 'none';
  switch (act) {
    case 'none': return x;
    case 'relu': return g.op('Relu', [x]);
    case 'sigmoid': return g.op('Sigmoid', [x]);
    case 'tanh': return g.op('Tanh', [x]);
    case 'smelu': {
      // 0 below −β, (z+β)²/(4β) on [−β, β], z above β; β = 0 is ReLU.
      const beta = l.cfg.smeluBeta ?? 1;
      if (beta === 0) return g.op('Relu', [x]);
      const t = g.op('Add', [g.op('Max', [g.op('Min', [x, g.scalar('beta', beta)]), g.scalar('neg_beta', -beta)]), g.scalar('beta', beta)]);
      const quad = g.op('Mul', [g.op('Mul', [t, t]), g.scalar('inv4b', 1 / (4 * beta))]);
      return g.op('Where', [g.op('Greater', [x, g.scalar('beta', beta)]), x, quad]);
    }
    default: throw new OnnxExportError(`no ONNX form for the activation '${String(act)}'`);
  }
}

function linear(g: GraphBuilder, l: Linear, x: string): string {
  let y = l.W ? g.op('MatMul', [x, param(g, l.W)]) : g.op('MatMul', [g.op('MatMul', [x, param(g, l.U!)]), param(g, l.V!)]);
  if (l.b) y = g.op('Add', [y, param(g, l.b)]);
  return activation(g, y, l);
}

/** The MLP's output (dropout is the identity at inference). */
function mlp(g: GraphBuilder, m: MLP, x: string): string {
  for (const l of m.layers) x = linear(g, l, x);
  return x;
}

function crossNet(g: GraphBuilder, c: CrossNet, x0: string): string {
  let x = x0;
  c.layers.forEach((l, i) => {
    let term = g.op('Mul', [x0, linear(g, l, x)]);
    const gate = c.gates[i];
    if (gate) term = g.op('Mul', [term, param(g, gate)]);
    x = g.op('Add', [term, x]);
  });
  return x;
}

/** [N, k] head output → the serving logit [N, 1]: itself for k = 1, z¹ − z⁰ for the JRC head. */
function servingLogit(g: GraphBuilder, out: string, k: number): string {
  if (k === 1) return out;
  if (k !== 2) throw new OnnxExportError(`no ONNX form for a head with ${k} logits per row`);
  const pick = (i: number): string => g.op('Gather', [out, g.int64s('col', [i], [1])], [{ name: 'axis', int: 1 }]);
  return g.op('Sub', [pick(1), pick(0)]);
}

/** The model's serving logit, [N, 1]. */
function modelLogit(g: GraphBuilder, model: CTRModel, inp: Inputs): string {
  if (model instanceof LR) {
    checkInputs({ numFields: inp.numFields, numSequences: model.cfg.numSequences ?? 0, denseDim: model.cfg.denseDim ?? 0 }, inp, 'lr');
    return lrLogit(g, model, inp);
  }
  if (model instanceof FM) {
    checkInputs({ numFields: inp.numFields, numSequences: model.cfg.numSequences ?? 0, denseDim: model.cfg.denseDim ?? 0 }, inp, 'fm');
    return fmLogit(g, model, inp);
  }
  if (model instanceof DNN) return servingLogit(g, mlp(g, model.mlp, featureInput(g, model.input, inp)), model.logitsPerRow);
  if (model instanceof DCNv2) {
    const x0 = featureInput(g, model.input, inp);
    const xc = crossNet(g, model.cross, x0);
    const out = model.head
      ? linear(g, model.head, g.op('Concat', [xc, mlp(g, model.mlp, x0)], [{ name: 'axis', int: 1 }]))
      : mlp(g, model.mlp, xc);
    return servingLogit(g, out, model.logitsPerRow);
  }
  throw new OnnxExportError(`no ONNX export for model type '${model.kind}' (supported: lr, fm, dnn, dcnv2)`);
}

/** A float64 score of each row, in logit or probability space. */
interface Score {
  v: string;
  space: 'logit' | 'probability';
}

function toLogit(g: GraphBuilder, s: Score): string {
  if (s.space === 'logit') return s.v;
  return g.op('Log', [g.op('Div', [s.v, g.op('Sub', [g.doubles('one', Float64Array.of(1), []), s.v])])]);
}

function toProbability(g: GraphBuilder, s: Score): string {
  return s.space === 'probability' ? s.v : g.op('Sigmoid', [s.v]);
}

/** numpy.interp of v after clipping to [x₀, x_last] (IsotonicCalibrator's rule), in float64. */
function interpolateClipped(g: GraphBuilder, v: string, xs: Float64Array, ys: Float64Array): string {
  const K = xs.length;
  if (K === 1) return g.op('Expand', [g.doubles('y', Float64Array.of(ys[0]!), []), g.op('Shape', [v])]);
  const c = g.op('Max', [g.op('Min', [v, g.doubles('x_last', Float64Array.of(xs[K - 1]!), [])]), g.doubles('x_first', Float64Array.of(xs[0]!), [])]);
  // Segment j = how many interior knots lie at or below c: c ∈ [x_j, x_{j+1}].
  const j = K === 2
    ? g.op('Cast', [g.op('Mul', [c, g.doubles('zero', Float64Array.of(0), [])])], [{ name: 'to', int: DataType.INT64 }])
    : g.reduceSum(g.op('Cast', [g.op('GreaterOrEqual', [g.op('Unsqueeze', [c, g.int64s('axes', [1])]), g.doubles('knots', xs.slice(1, K - 1), [1, K - 2])])],
      [{ name: 'to', int: DataType.INT64 }]), [1], false);
  const at = (arr: string, idx: string): string => g.op('Gather', [arr, idx], [{ name: 'axis', int: 0 }]);
  const X = g.doubles('iso_x', xs, [K]);
  const Y = g.doubles('iso_y', ys, [K]);
  const j1 = g.op('Add', [j, g.int64s('one', [1], [])]);
  const x0 = at(X, j), x1 = at(X, j1), y0 = at(Y, j), y1 = at(Y, j1);
  return g.op('Add', [y0, g.op('Div', [g.op('Mul', [g.op('Sub', [c, x0]), g.op('Sub', [y1, y0])]), g.op('Sub', [x1, x0])])]);
}

function calibrate(g: GraphBuilder, cal: Calibrator, s: Score): Score {
  switch (cal.kind) {
    case 'platt': {
      if (cal.a === 0) return { v: g.op('Expand', [g.doubles('platt', Float64Array.of(1 / (1 + Math.exp(-cal.b))), []), g.op('Shape', [s.v])]), space: 'probability' };
      return { v: g.op('Add', [g.op('Mul', [toLogit(g, s), g.doubles('platt_a', Float64Array.of(cal.a), [])]), g.doubles('platt_b', Float64Array.of(cal.b), [])]), space: 'logit' };
    }
    case 'downsampling':
      return { v: g.op('Add', [toLogit(g, s), g.doubles('ln_rate', Float64Array.of(Math.log(cal.rate)), [])]), space: 'logit' };
    case 'isotonic': {
      const v = cal.space === 'logit' ? toLogit(g, s) : toProbability(g, s);
      return { v: interpolateClipped(g, v, cal.fit.x, cal.fit.y), space: 'probability' };
    }
    case 'chain': {
      let out = s;
      for (const step of cal.steps) out = calibrate(g, step, out);
      return out;
    }
  }
}

/** The probability predict reports for a float64 logit [N]: the calibration, else σ with the sampling correction. */
function probability(g: GraphBuilder, manifest: ModelManifest, z: string): string {
  if (manifest.calibration !== undefined) {
    let cal: Calibrator;
    try {
      cal = calibratorFromJSON(manifest.calibration, 'manifest.calibration');
    } catch (e) {
      throw new OnnxExportError((e as Error).message);
    }
    return toProbability(g, calibrate(g, cal, { v: z, space: 'logit' }));
  }
  const s = manifest.sampling;
  if (s === undefined || !s.corrected) return g.op('Sigmoid', [z]);
  // logit q = logit p + ln r − ln β (samplingCorrection.ts).
  const shift = Math.log(s.negativeSampleRate) - Math.log(s.betaPos ?? 1);
  return g.op('Sigmoid', [g.op('Add', [z, g.doubles('sampling_shift', Float64Array.of(shift), [])])]);
}

export interface OnnxExport {
  /** The serialised ModelProto, in chunks to write in order. */
  chunks: Uint8Array[];
  /** Names and shapes of the graph inputs, in the order declared. */
  inputs: { name: string; type: 'int64' | 'float32'; shape: (number | string)[] }[];
}

/** The ONNX model of `model` scored with `manifest`'s calibration on inputs encoded by `fitted`. */
export function exportOnnx(model: CTRModel, manifest: ModelManifest, fitted: FittedSchema, producerVersion: string): OnnxExport {
  model.eval();
  const g = new GraphBuilder();
  const inp = declareInputs(g, fitted);
  const z = g.reshape(modelLogit(g, model, inp), [0]);
  const prob = probability(g, manifest, g.op('Cast', [z], [{ name: 'to', int: DataType.DOUBLE }]));
  g.output('probability', g.op('Cast', [prob], [{ name: 'to', int: DataType.FLOAT }]), DataType.FLOAT, [N]);
  g.output('logit', z, DataType.FLOAT, [N]);
  const graph = g.build(`ctrkit_${model.kind}`);
  const chunks = encodeModel({
    irVersion: IR_VERSION, opset: ONNX_OPSET, producerName: 'ctrkit', producerVersion,
    docString: `ctrkit ${manifest.model.type} model; inputs and encoding: the .schema.json beside this file`,
    metadata: { 'ctrkit.model': JSON.stringify(manifest.model), 'ctrkit.calibrated': String(manifest.calibration !== undefined) },
    graph,
  });
  const inputs = graph.inputs.map((v) => ({ name: v.name, type: v.type === DataType.INT64 ? 'int64' as const : 'float32' as const, shape: [...v.dims] }));
  return { chunks, inputs };
}
