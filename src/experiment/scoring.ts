/**
 * Loading a saved model and scoring a file with it: the file is read in the training
 * source's format and encoded with the saved fitted schema; the stored calibration, if any,
 * is applied to the probabilities.
 */
import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { loadModel, type ModelManifest } from '../io/modelFile.js';
import { encodeFile, withSourcePath, type FittedSchema } from '../schema/index.js';
import { calibratorFromJSON } from '../calibrate/calibrator.js';
import type { CTRModel } from '../models/ctrModel.js';
import { probabilities } from './evaluate.js';
import { predictRows } from '../train/predict.js';
import { readSavedSchema } from './savedSchema.js';
import { correctForSampling } from './samplingCorrection.js';

export interface ScoredFile {
  model: CTRModel;
  manifest: ModelManifest;
  dataset: Dataset;
  logits: Float32Array;
  /**
   * The stored calibration of the logit when there is one (it was fit on unsampled validation rows,
   * so it already undoes data.sampling); else σ(logit), corrected for the recorded sampling.
   */
  probs: Float64Array;
  calibrated: boolean;
  /** Whether the sampling correction was applied (see samplingCorrection.ts). */
  samplingCorrected: boolean;
  skippedLines: number;
  fitted: FittedSchema;
  /** The file had no header line and was read with the training file's column names. */
  headerless: boolean;
  /** With rowIds: every scored row's input line, and each group's value (see EncodedFile). */
  lines?: Uint32Array;
  groupIds?: string[];
}

export interface ScoreOptions {
  labels: boolean;
  onBadLine?: 'error' | 'skip';
  /** CSV: force a header (true) or none (false); undefined detects it. */
  header?: boolean;
  rowIds?: boolean;
}

export async function scoreFile(modelDir: string, input: string, opts: ScoreOptions): Promise<ScoredFile> {
  const { model, manifest } = loadModel(modelDir);
  const { fitted, source, columns } = readSavedSchema(manifest.schema, resolve(modelDir, 'manifest.json'));
  const { dataset, stats, headerless, lines, groupIds } = await encodeFile(fitted, withSourcePath(source, resolve(input)), {
    labels: opts.labels, onBadLine: opts.onBadLine, header: opts.header, knownColumns: columns, rowIds: opts.rowIds,
  });
  const logits = predictRows(model, dataset, { start: 0, end: dataset.numRows });
  let probs: Float64Array;
  let calibrated = false;
  let samplingCorrected = false;
  if (manifest.calibration !== undefined) {
    probs = calibratorFromJSON(manifest.calibration).apply(logits, 'logit');
    calibrated = true;
  } else {
    probs = correctForSampling(probabilities(logits), manifest.sampling);
    samplingCorrected = manifest.sampling?.corrected === true;
  }
  return {
    model, manifest, dataset, logits, probs, calibrated, samplingCorrected, skippedLines: stats.skipped, fitted, headerless,
    ...(lines && { lines }), ...(groupIds && { groupIds }),
  };
}
