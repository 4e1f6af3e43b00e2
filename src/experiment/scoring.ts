/**
 * Loading a saved model and scoring a file with it: the file is read in the training
 * source's format and encoded with the saved fitted schema; the stored calibration, if any,
 * is applied to the probabilities.
 */
import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { loadModel, type ModelManifest } from '../io/modelFile.js';
import { encodeFile } from '../schema/index.js';
import { calibratorFromJSON } from '../calibrate/calibrator.js';
import type { CTRModel } from '../models/ctrModel.js';
import { probabilities } from './evaluate.js';
import { predictRows } from '../train/predict.js';
import { readSavedSchema } from './savedSchema.js';

export interface ScoredFile {
  model: CTRModel;
  manifest: ModelManifest;
  dataset: Dataset;
  logits: Float32Array;
  /** σ(logit), then the stored calibration when there is one. */
  probs: Float64Array;
  calibrated: boolean;
  skippedLines: number;
}

export async function scoreFile(modelDir: string, input: string, opts: { labels: boolean; onBadLine?: 'error' | 'skip' }): Promise<ScoredFile> {
  const { model, manifest } = loadModel(modelDir);
  const { fitted, source } = readSavedSchema(manifest.schema, resolve(modelDir, 'manifest.json'));
  const { dataset, stats } = await encodeFile(fitted, { ...source, path: resolve(input) }, { labels: opts.labels, onBadLine: opts.onBadLine });
  const logits = predictRows(model, dataset, { start: 0, end: dataset.numRows });
  let probs = probabilities(logits);
  let calibrated = false;
  if (manifest.calibration !== undefined) {
    probs = calibratorFromJSON(manifest.calibration).apply(logits, 'logit');
    calibrated = true;
  }
  return { model, manifest, dataset, logits, probs, calibrated, skippedLines: stats.skipped };
}
