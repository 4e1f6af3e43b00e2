import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/shape.js';
import { K, empty, record, stepArena, gradIfNeeded, isGradEnabled } from '../tape.js';

function rowsD(op: string, x: Tensor, gamma: Tensor, beta: Tensor): [number, number] {
  const d = x.shape[x.shape.length - 1] ?? 0;
  if (x.shape.length < 1 || gamma.size !== d || beta.size !== d) {
    throw new Error(`${op}: x ${shapeStr(x.shape)}, gamma ${shapeStr(gamma.shape)}, beta ${shapeStr(beta.shape)} do not match`);
  }
  return [x.size / Math.max(d, 1), d];
}

/** Layer norm over the last dim. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const [rows, d] = rowsD('layerNorm', x, gamma, beta);
  const out = empty(x.shape);
  const mu = stepArena().f32(rows);
  const rstd = stepArena().f32(rows);
  K().layerNorm(x.data, rows, d, gamma.data, beta.data, eps, out.data, mu, rstd);
  return record(out, [x, gamma, beta], () => {
    K().layerNormBackward(x.data, out.grad!, rows, d, gamma.data, mu, rstd, gradIfNeeded(x), gradIfNeeded(gamma), gradIfNeeded(beta));
  });
}

/** State of a batch-norm layer: running statistics updated in training mode. */
export interface BatchNormState {
  runMean: Float32Array;
  runVar: Float32Array;
  momentum: number;
  eps: number;
}

/**
 * Batch norm over rows per column. training=true uses batch statistics and updates the
 * running ones; otherwise the running statistics are applied as a fixed affine map.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, st: BatchNormState, training: boolean): Tensor {
  const [rows, d] = rowsD('batchNorm', x, gamma, beta);
  const out = empty(x.shape);
  if (training) {
    if (rows < 2) throw new Error(`batchNorm: training needs at least 2 rows, got ${rows}`);
    const mu = stepArena().f32(d);
    const rstd = stepArena().f32(d);
    K().batchNormTrain(x.data, rows, d, gamma.data, beta.data, st.eps, st.momentum, st.runMean, st.runVar, out.data, mu, rstd);
    return record(out, [x, gamma, beta], () => {
      K().batchNormBackward(x.data, out.grad!, rows, d, gamma.data, mu, rstd, gradIfNeeded(x), gradIfNeeded(gamma), gradIfNeeded(beta));
    });
  }
  // Eval: y = (x − runMean)·gamma/√(runVar+eps) + beta, i.e. a per-column affine map.
  const scale = new Float32Array(d);
  const shift = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    scale[j] = gamma.data[j]! / Math.sqrt(st.runVar[j]! + st.eps);
    shift[j] = beta.data[j]! - st.runMean[j]! * scale[j]!;
  }
  K().binary('mul', x.data, [rows, d], scale, [d], out.data, [rows, d]);
  K().binary('add', out.data, [rows, d], shift, [d], out.data, [rows, d]);
  if (isGradEnabled() && (gamma.requiresGrad || beta.requiresGrad)) {
    throw new Error('batchNorm: eval mode does not train gamma/beta; call under noGrad or use training mode');
  }
  return record(out, [x], () => {
    K().binaryBackward('mul', x.data, [rows, d], scale, [d], out.grad!, [rows, d], gradIfNeeded(x), null);
  });
}
