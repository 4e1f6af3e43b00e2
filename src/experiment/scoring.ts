/**
 * Loading a saved model and scoring with it: a file is read in the training source's format and
 * encoded with the saved fitted schema; the stored calibration, if any, is applied to the
 * probabilities. The server (src/serve) loads and converts logits through the same functions.
 */
import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { loadModel, MANIFEST_FILE, type LoadModelOptions, type ModelManifest, type TaskRecord } from '../io/modelFile.js';
import { encodeFile, withSourcePath, type FittedSchema, type SourceConfig } from '../schema/index.js';
import { calibratorFromJSON } from '../calibrate/calibrator.js';
import { headKey, type CTRModel } from '../models/ctrModel.js';
import { probabilities } from './evaluate.js';
import { predictHeads } from '../train/predict.js';
import { readSavedSchema, type SavedSchema } from './savedSchema.js';
import { correctForSampling } from './samplingCorrection.js';
import { setInferencePrecision } from '../models/inferencePrecision.js';
import type { Precision, PrecisionReport } from '../nn/quantize.js';

/** A saved model with what encodes its inputs. */
export interface ScoringModel {
  model: CTRModel;
  manifest: ModelManifest;
  fitted: FittedSchema;
  source: SourceConfig;
  /** The training CSV's column names, when it had a header (reads headerless files). */
  columns?: readonly string[];
  /** The precision its dense layers score in (fp32 unless asked otherwise), layer by layer. */
  precision: PrecisionReport;
}

export interface ScoringLoadOptions extends LoadModelOptions {
  /** Inference precision of the dense layers (default fp32; see src/nn/quantize.ts). */
  precision?: Precision;
}

export function loadScoringModel(modelDir: string, opts: ScoringLoadOptions = {}): ScoringModel {
  const { model, manifest } = loadModel(modelDir, opts);
  return scoringModel(modelDir, model, manifest, opts.precision);
}

/**
 * A loaded model of `modelDir` with the fitted schema its manifest stores (`saved`: read already,
 * e.g. by a server that encoded requests before the weights were loaded), set to score in `precision`.
 */
export function scoringModel(modelDir: string, model: CTRModel, manifest: ModelManifest, precision: Precision = 'fp32',
  saved: SavedSchema = readSavedSchema(manifest.schema, resolve(modelDir, MANIFEST_FILE))): ScoringModel {
  const { fitted, source, columns } = saved;
  return { model, manifest, fitted, source, ...(columns && { columns }), precision: setInferencePrecision(model, precision) };
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

/** One task's scores of every row of a file (a model's head, or its only output). */
export interface ScoredTask {
  name: string;
  /** Index of its label in the file's labels (when read with labels), and of its `on` label. */
  label: number;
  on?: number;
  logits: Float32Array;
  probs: Float64Array;
}

export interface ScoredFile {
  /** Every task of the model (one for a model trained without train.tasks); logits / probs are the first's. */
  tasks: ScoredTask[];
  model: CTRModel;
  manifest: ModelManifest;
  dataset: Dataset;
  logits: Float32Array;
  probs: Float64Array;
  calibrated: boolean;
  samplingCorrected: boolean;
  skippedLines: number;
  fitted: FittedSchema;
  /** The file had no header line and was read with the training file's column names. */
  headerless: boolean;
  /** With rowIds: every scored row's input line, and each group's value (see EncodedFile). */
  lines?: Uint32Array;
  groupIds?: string[];
  precision: PrecisionReport;
}

/** A model's tasks as its manifest records them (one task, the first label, when it records none). */
export function manifestTasks(manifest: ModelManifest, fitted: FittedSchema): TaskRecord[] {
  return manifest.tasks ?? [{ name: fitted.spec.labels[0]?.name ?? 'score', label: fitted.spec.labels[0]?.name ?? 'score' }];
}

/** Every task's logits and probabilities of rows [start, end) of `ds`, in the manifest's task order. */
export function scoreHeads(model: CTRModel, manifest: ModelManifest, fitted: FittedSchema, ds: Dataset, start: number, end: number, map: ProbabilityMap): ScoredTask[] {
  const heads = predictHeads(model, ds, { start, end }, Math.max(1, Math.min(4096, end - start)));
  const labels = fitted.spec.labels.map((l) => l.name);
  return manifestTasks(manifest, fitted).map((t) => {
    const head = t.head ?? t.name;
    const logits = heads.get(headKey(model, head))!;
    // A task's own sampling record (CTCVR's rate, or none) in place of the run's; runs with tasks have no calibration.
    const probs = t.sampling === undefined ? map.apply(logits) : correctForSampling(probabilities(logits), t.sampling ?? undefined);
    return { name: t.name, label: labels.indexOf(t.label), ...(t.on !== undefined && { on: labels.indexOf(t.on) }), logits, probs };
  });
}

export interface ScoreOptions {
  labels: boolean;
  onBadLine?: 'error' | 'skip';
  /** CSV: force a header (true) or none (false); undefined detects it. */
  header?: boolean;
  rowIds?: boolean;
  precision?: Precision;
}

export async function scoreFile(modelDir: string, input: string, opts: ScoreOptions): Promise<ScoredFile> {
  const { model, manifest, fitted, source, columns, precision } = loadScoringModel(modelDir, { precision: opts.precision });
  const { dataset, stats, headerless, lines, groupIds } = await encodeFile(fitted, withSourcePath(source, resolve(input)), {
    labels: opts.labels, onBadLine: opts.onBadLine, header: opts.header, knownColumns: columns, rowIds: opts.rowIds,
  });
  const map = probabilityMap(manifest);
  const tasks = scoreHeads(model, manifest, fitted, dataset, 0, dataset.numRows, map);
  return {
    tasks, model, manifest, dataset, logits: tasks[0]!.logits, probs: tasks[0]!.probs, calibrated: map.calibrated, samplingCorrected: map.samplingCorrected,
    skippedLines: stats.skipped, fitted, headerless, ...(lines && { lines }), ...(groupIds && { groupIds }), precision,
  };
}
