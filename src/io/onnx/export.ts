/**
 * A trained ctrkit model as an ONNX graph that scores encoded rows to the probabilities `ctrkit
 * predict` reports: the model's logit(s) (z¹ − z⁰ for a two-logit JRC head; one per task for a
 * multi-task model), then the stored calibration or the sampling correction (calibration.ts).
 * Inference only: dropout is the identity and DCN-v2's cross ramp is at its final value 1, as in
 * predict. Each model family has its builder: classic.ts (lr, fm, dnn, dcnv2), din.ts, towers.ts
 * (twotower, qu), multiTask.ts (shared-bottom, mmoe, ple, esmm); layers.ts holds what they share.
 *
 * Inputs (N rows; local ids are the fitted schema's: vocabulary index + 1, 0 = OOV, hash bucket,
 * bucket; the graph adds each field's offset into the shared embedding table):
 *   ids           int64 [N, F]    one local id per id field, in schema order
 *   seq_<q>_ids   int64 [N, L]    sequence field q's local ids, padded to any L
 *   seq_<q>_mask  float [N, L]    1 for a real token, 0 for padding (the mean is over the 1s; none → zeros)
 *   dense         float [N, D]    dense features after their transform (missing → 0)
 * Outputs: probability float [N], logit float [N] (the model's logit before calibration); for a
 * multi-task model probability_<task> and logit_<task> per task instead; two-tower and Q·U also
 * give their towers' vectors [N, d] (user_vector / item_vector, q_vector / u_vector).
 *
 * Embeddings are Gather + mask + ReduceSum, no loops; the calibration is computed in float64.
 */
import { MultiTaskModel, type CTRModel } from '../../models/ctrModel.js';
import { REDUCED_PRECISION_MODEL_KINDS } from '../../models/inferencePrecision.js';
import type { Precision } from '../../nn/quantize.js';
import type { FittedSchema } from '../../schema/fitted.js';
import type { ModelManifest, TaskRecord } from '../modelFile.js';
import { taskProbability } from './calibration.js';
import { classicGraph } from './classic.js';
import { dinGraph } from './din.js';
import { GraphBuilder } from './graph.js';
import { declareInputs, N, OnnxExportError, type Inputs } from './layers.js';
import type { ModelGraph } from './modelGraph.js';
import { multiTaskGraph } from './multiTask.js';
import { DataType, encodeModel } from './proto.js';
import { towersGraph } from './towers.js';

export { OnnxExportError } from './layers.js';
export const ONNX_OPSET = 17;
const IR_VERSION = 8;

const BUILDERS: ((g: GraphBuilder, model: CTRModel, inp: Inputs) => ModelGraph | null)[] = [classicGraph, dinGraph, towersGraph, multiTaskGraph];
const SUPPORTED = 'lr, fm, dnn, dcnv2, din, twotower, qu, shared-bottom, mmoe, ple, esmm';

function modelGraph(g: GraphBuilder, model: CTRModel, inp: Inputs): ModelGraph {
  for (const build of BUILDERS) {
    const out = build(g, model, inp);
    if (out) return out;
  }
  throw new OnnxExportError(`no ONNX export for model type '${model.kind}' (supported: ${SUPPORTED})`);
}

export interface OnnxOutput {
  name: string;
  type: 'float32';
  shape: (number | string)[];
  what: string;
}

export interface OnnxExport {
  /** The serialised ModelProto, in chunks to write in order. */
  chunks: Uint8Array[];
  /** Names and shapes of the graph inputs, in the order declared. */
  inputs: { name: string; type: 'int64' | 'float32'; shape: (number | string)[] }[];
  outputs: OnnxOutput[];
}

/**
 * The ONNX model of `model` scored with `manifest`'s calibration on inputs encoded by `fitted`.
 * With precision int8 (dnn, dcnv2, as `ctrkit predict --precision int8`) every full-rank dense
 * layer is MatMulInteger over int8 weights and dynamically quantised inputs.
 */
export function exportOnnx(model: CTRModel, manifest: ModelManifest, fitted: FittedSchema, producerVersion: string, precision: Precision = 'fp32'): OnnxExport {
  if (precision === 'bf16') throw new OnnxExportError('--precision bf16 is for scoring in ctrkit (predict, eval, serve); ONNX export writes fp32 or int8');
  if (precision === 'int8' && !REDUCED_PRECISION_MODEL_KINDS.includes(model.kind)) {
    throw new OnnxExportError(`--precision int8 is supported for ${REDUCED_PRECISION_MODEL_KINDS.join(' and ')} models; this model is ${model.kind}`);
  }
  model.eval();
  const g = new GraphBuilder(precision);
  const built = modelGraph(g, model, declareInputs(g, fitted));
  const outputs: OnnxOutput[] = [];
  const vector = (name: string, value: string, dims: (number | string)[], what: string): void => {
    g.output(name, value, DataType.FLOAT, dims);
    outputs.push({ name, type: 'float32', shape: dims, what });
  };
  const calibrated = manifest.calibration !== undefined;
  // The tasks scoreHeads reports: the manifest's, each read from the head of its name (a one-output model's only head).
  const tasks: (TaskRecord | undefined)[] = manifest.tasks ?? (model instanceof MultiTaskModel ? model.heads.map((h) => ({ name: h, label: h })) : [undefined]);
  for (const task of tasks) {
    const head = task !== undefined && task.name in built.heads ? task.name : '';
    if (!(head in built.heads)) throw new OnnxExportError(`task '${task?.name}': the model has no head of that name (heads: ${Object.keys(built.heads).join(', ')})`);
    const suffix = model instanceof MultiTaskModel ? `_${task!.name}` : '';
    const z = g.reshape(built.heads[head]!, [0]);
    const p = taskProbability(g, manifest, task, g.op('Cast', [z], [{ name: 'to', int: DataType.DOUBLE }]));
    const what = suffix ? ` of task ${task!.name}` : '';
    vector(`probability${suffix}`, g.op('Cast', [p], [{ name: 'to', int: DataType.FLOAT }]), [N],
      `${calibrated && task?.sampling === undefined ? 'calibrated probability (the calibration below, applied in the graph)' : 'σ(logit) with the sampling correction below'}${what}`);
    vector(`logit${suffix}`, z, [N], `the model logit before calibration${what} (z1 − z0 for a two-logit head)`);
    if (!suffix) break;
  }
  for (const v of built.vectors ?? []) vector(v.name, v.value, [N, v.dim], `the ${v.name.replace('_', ' ')} of the row (its tower's output)`);
  const graph = g.build(`ctrkit_${model.kind}`);
  const chunks = encodeModel({
    irVersion: IR_VERSION, opset: ONNX_OPSET, producerName: 'ctrkit', producerVersion,
    docString: `ctrkit ${manifest.model.type} model; inputs and encoding: the .schema.json beside this file`,
    metadata: { 'ctrkit.model': JSON.stringify(manifest.model), 'ctrkit.calibrated': String(calibrated), 'ctrkit.precision': precision },
    graph,
  });
  const inputs = graph.inputs.map((v) => ({ name: v.name, type: v.type === DataType.INT64 ? 'int64' as const : 'float32' as const, shape: [...v.dims] }));
  return { chunks, inputs, outputs };
}
