/**
 * Which models may be scored in reduced precision. int8 and bf16 are offered where their accuracy
 * has been measured (docs/benchmarks.md: DNN and DCN-v2, MLP and cross layers); other models are
 * refused rather than approximated without evidence.
 */
import { PrecisionError, setLinearPrecision, type Precision, type PrecisionReport } from '../nn/quantize.js';
import type { CTRModel } from './ctrModel.js';

export const REDUCED_PRECISION_MODEL_KINDS: readonly string[] = ['dnn', 'dcnv2'];

/** PrecisionError when a model of `kind` may not be scored in `precision` (checkable before its weights are loaded). */
export function checkInferencePrecision(kind: string, precision: Precision): void {
  if (precision !== 'fp32' && !REDUCED_PRECISION_MODEL_KINDS.includes(kind)) {
    throw new PrecisionError(`precision ${precision} is supported for ${REDUCED_PRECISION_MODEL_KINDS.join(' and ')} models; this model is ${kind} (score it with precision fp32)`);
  }
}

/** Applies `precision` to a loaded model's dense layers (see setLinearPrecision); throws PrecisionError when unsupported. */
export function setInferencePrecision(model: CTRModel, precision: Precision): PrecisionReport {
  checkInferencePrecision(model.kind, precision);
  return setLinearPrecision(model, precision);
}
