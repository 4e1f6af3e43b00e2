/**
 * Loading a saved model and scoring with it: a file is read in the training source's format and
 * encoded with the saved fitted schema; the stored calibration, if any, is applied to the
 * probabilities. The server (src/serve) loads and converts logits through the same functions.
 */
import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { loadModel, MANIFEST_FILE, type LoadModelOptions, type ModelManifest } from '../io/modelFile.js';
import { encodeFile, withSourcePath, type FittedSchema, type SourceConfig } from '../schema/index.js';
import { calibratorFromJSON } from '../calibrate/calibrator.js';
import type { CTRModel } from '../models/ctrModel.js';
import { probabilities } from './evaluate.js';
import { predictRows } from '../train/predict.js';
import { readSavedSchema } from './savedSchema.js';
import { correctForSampling } from './samplingCorrection.js';

/** A saved model with what encodes its inputs. */
export interface ScoringModel {
  model: CTRModel;
  manifest: ModelManifest;
  fitted: FittedSchema;
  source: SourceConfig;
}

export function loadScoringModel(modelDir: string, opts: LoadModelOptions = {}): ScoringModel {
  const { model, manifest } = loadModel(modelDir, opts);
  const { fitted, source } = readSavedSchema(manifest.schema, resolve(modelDir, MANIFEST_FILE));
  return { model, manifest, fitted, source };
}

/** Logits → the probabilities a model's predictions report. */
export interface ProbabilityMap {
  apply(logits: Float32Array): Float64Array;
  calibrated: boolean;
  /** Whether the sampling correction is applied (see samplingCorrection.ts). */
  samplingCorrected: boolean;
}

/**
 * The stored calibration of the logit when there is one (it was fit on unsampled validation rows,
 * so it already undoes data.sampling); else σ(logit), corrected for the recorded sampling.
 */
export function probabilityMap(manifest: ModelManifest): ProbabilityMap {
  if (manifest.calibration !== undefined) {
    const cal = calibratorFromJSON(manifest.calibration);
    return { apply: (z) => cal.apply(z, 'logit'), calibrated: true, samplingCorrected: false };
  }
  const { sampling } = manifest;
  return { apply: (z) => correctForSampling(probabilities(z), sampling), calibrated: false, samplingCorrected: sampling?.corrected === true };
}

export interface ScoredFile {
  model: CTRModel;
  manifest: ModelManifest;
  dataset: Dataset;
  logits: Float32Array;
  probs: Float64Array;
  calibrated: boolean;
  samplingCorrected: boolean;
  skippedLines: number;
}

export async function scoreFile(modelDir: string, input: string, opts: { labels: boolean; onBadLine?: 'error' | 'skip' }): Promise<ScoredFile> {
  const { model, manifest, fitted, source } = loadScoringModel(modelDir);
  const { dataset, stats } = await encodeFile(fitted, withSourcePath(source, resolve(input)), { labels: opts.labels, onBadLine: opts.onBadLine });
  const logits = predictRows(model, dataset, { start: 0, end: dataset.numRows });
  const map = probabilityMap(manifest);
  return {
    model, manifest, dataset, logits, probs: map.apply(logits), calibrated: map.calibrated, samplingCorrected: map.samplingCorrected, skippedLines: stats.skipped,
  };
}
