/**
 * One loaded, verified model directory: its fitted schema as a row encoder, the map from logits to
 * the probabilities `ctrkit predict` reports, an identity (version) that changes whenever the
 * directory's manifest does, and the model with its weights, which a thread loads only where it
 * scores (a server whose scoring thread scores holds no copy of them on its event loop: the thread
 * shares its weights' memory with it, see shareWeights). Scoring goes
 * through predictRows and probabilityMap, the functions behind `ctrkit predict`, so the two give
 * the same numbers.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import type { RawValue } from '../data/prep/field.js';
import { MANIFEST_FILE, ModelFileError, modelFromWeights, readManifest, type ModelManifest } from '../io/modelFile.js';
import { manifestTasks, probabilityMap, scoreHeads, scoringModel, type ProbabilityMap, type ScoringModel } from '../experiment/scoring.js';
import { readSavedSchema, type SavedSchema } from '../experiment/savedSchema.js';
import { readVerifiedWeights, type WeightTensors } from '../io/verifiedWeights.js';
import { checkInferencePrecision } from '../models/inferencePrecision.js';
import type { WeightsReader } from './weightsReader.js';
import type { Precision, PrecisionReport } from '../nn/quantize.js';
import { featureNames, RowEncoder, type FittedSchema, type SchemaSpec } from '../schema/index.js';

export type FeatureKind = 'categorical' | 'numeric' | 'sequence';

/** A request-level description of one input feature (GET /v1/model, validation). */
export interface FeatureInfo {
  name: string;
  kind: FeatureKind;
  /** How the raw value becomes model input. */
  encoding: 'vocab' | 'hash' | 'log-bucket' | 'bucketize' | 'identity' | 'log' | 'standardize';
  /** Embedding rows of an id feature (OOV included). */
  size?: number;
  /** Sequence token separator in string form. */
  separator?: string;
}

export function featureInfo(spec: SchemaSpec, fitted: FittedSchema): FeatureInfo[] {
  const out: FeatureInfo[] = [];
  spec.fields.forEach((f, j) => {
    const size = fitted.fieldSizes[j]!;
    switch (f.kind) {
      case 'vocab': out.push({ name: f.name, kind: f.logBucket ? 'numeric' : 'categorical', encoding: f.logBucket ? 'log-bucket' : 'vocab', size }); break;
      case 'hash': out.push({ name: f.name, kind: f.logBucket === true ? 'numeric' : 'categorical', encoding: 'hash', size }); break;
      case 'bucketize': out.push({ name: f.name, kind: 'numeric', encoding: 'bucketize', size }); break;
    }
  });
  for (const d of spec.dense) out.push({ name: d.name, kind: 'numeric', encoding: d.transform });
  // A shared sequence is looked up in its owner's vocabulary: to a client it is a vocab sequence.
  spec.sequences.forEach((s, q) => out.push({ name: s.name, kind: 'sequence', encoding: s.kind === 'hash' ? 'hash' : 'vocab', size: fitted.sequenceSizes[q]!, separator: s.separator }));
  // RowEncoder takes values in featureNames order; this list must be that order.
  const names = featureNames(spec);
  if (out.some((f, i) => f.name !== names[i])) throw new Error('featureInfo: feature order differs from featureNames');
  return out;
}

/**
 * Identity of the manifest file as it is on disk now (undefined while it is absent, e.g. between
 * the two renames of a publish): a new snapshot is a new directory, hence a new inode.
 */
export function manifestStamp(dir: string): string | undefined {
  try {
    const s = statSync(join(dir, MANIFEST_FILE), { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return undefined;
  }
}

/** The directory changed while it was being read: not a bad snapshot, read it again later. */
export class SnapshotChangedError extends Error {
  override readonly name = 'SnapshotChangedError';
}

/** SnapshotChangedError unless `dir`'s manifest is still the one stamped `stamp` (`what` happened if not). */
function checkUnchanged(dir: string, stamp: string, what = 'replaced while it was being loaded'): void {
  if (manifestStamp(dir) !== stamp) throw new SnapshotChangedError(`${dir}: ${what}`);
}

export interface ModelSnapshot {
  readonly dir: string;
  /** First 16 hex digits of the manifest's sha256 (the manifest holds the weights' sha256 and the calibration). */
  readonly version: string;
  readonly stamp: string;
  readonly manifest: ModelManifest;
  /** Names of the predicted tasks (labels), in score order. */
  readonly tasks: readonly string[];
  readonly features: readonly FeatureInfo[];
  readonly calibrated: boolean;
  readonly loadedAt: Date;
  /**
   * Encodes request rows with the model's fitted schema (values in `features` order). Requests
   * share it: each is encoded synchronously and taken out whole (readPredictBody), so it is empty
   * between requests; batches are built from the taken blocks.
   */
  readonly encoder: RowEncoder;
  readonly fitted: FittedSchema;
  /** Logits → the probabilities served (calibration, or σ with the sampling correction). */
  readonly probabilities: ProbabilityMap;
  /**
   * The model with its weights, once this thread loaded them (loadSnapshot, loadWeights); undefined
   * while only the scoring thread holds them. The item vectors of a two-tower model are computed with this very model.
   */
  readonly loaded: ScoringModel | undefined;
  /** The precision its dense layers score in, layer by layer, as the thread that loaded its weights reports it (undefined before). */
  precision: PrecisionReport | undefined;
  /**
   * Its decoded tensors where they are on SharedArrayBuffers (a scoring thread's, which it posts to
   * the event loop: shareWeights), which `loaded` was or will be built around; undefined otherwise.
   */
  readonly weights: WeightTensors | undefined;
  /**
   * The tensors of this very snapshot as another thread holds them, on SharedArrayBuffers: this
   * thread builds its own model around the same memory (no read, no copy of the tables) when it
   * first scores here. Ignored once this thread has built its model.
   */
  shareWeights(tensors: WeightTensors): void;
  /** Whether score() can run on this thread: its weights are loaded or shared here. */
  readonly scoresHere: boolean;
  /**
   * Loads the weights on this thread (once; read, hashed and decoded on `reader`'s worker, or the
   * shared ones: shareWeights) and checks that they score; SnapshotChangedError when the directory
   * no longer holds this snapshot.
   */
  loadWeights(reader: WeightsReader): Promise<ScoringModel>;
  /** Probabilities of rows [start, end) of `ds`, one array per task. Synchronous: callers bound end − start. Needs `scoresHere`. */
  score(ds: Dataset, start: number, end: number): Float64Array[];
}

/** A snapshot whose weights this thread holds. */
export type LoadedSnapshot = ModelSnapshot & { readonly loaded: ScoringModel; precision: PrecisionReport };

/** The snapshot's model with its weights; only where they were loaded (scoring elsewhere is a bug). */
export function weightsOf(s: ModelSnapshot): ScoringModel {
  if (s.loaded === undefined) throw new Error(`model ${s.version}: scored on a thread that has not loaded its weights`);
  return s.loaded;
}

/**
 * A value of feature `i` (featureNames order) that encodes whatever the field: missing, except
 * that a required field cannot be missing and gets a token no vocabulary holds (its OOV id).
 */
export function fillerValue(spec: SchemaSpec, i: number): string {
  const f = spec.fields[i];
  return f !== undefined && f.kind === 'vocab' && f.required === true ? '\u0000probe' : '';
}

/** The manifest's identity and bytes (its sha256 is the version), read before anything else. */
function readStamped(dir: string): { stamp: string; bytes: Buffer } {
  const stamp = manifestStamp(dir);
  if (stamp === undefined) throw new SnapshotChangedError(`${join(dir, MANIFEST_FILE)}: not found`);
  try {
    return { stamp, bytes: readFileSync(join(dir, MANIFEST_FILE)) };
  } catch (e) {
    throw new SnapshotChangedError(`${join(dir, MANIFEST_FILE)}: ${(e as Error).message}`);
  }
}

/**
 * Loads `dir` without touching it (no publish recovery: a writer may be mid-publish) and checks
 * that it scores: every probability of an all-missing row must be finite. Synchronous (startup,
 * tests); a reload uses loadSnapshotOffLoop.
 */
export function loadSnapshot(dir: string, precision: Precision = 'fp32'): LoadedSnapshot {
  const { snapshot, weigh } = snapshotHead(dir, precision);
  const weightsPath = join(dir, snapshot.manifest.weights.file);
  weigh(readVerifiedWeights(weightsPath, snapshot.manifest.weights.sha256));
  return snapshot as LoadedSnapshot;
}

/**
 * What a server's event loop needs of `dir` while a scoring thread scores it: the manifest, the
 * fitted schema (validation, encoding), the probability map; no weights (loadWeights reads them
 * if the loop comes to score it). Synchronous: these are small next to the weights.
 */
export function loadSnapshotHead(dir: string, precision: Precision = 'fp32'): ModelSnapshot {
  return snapshotHead(dir, precision).snapshot;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * loadSnapshot for a server that keeps answering meanwhile: the weights file is read, hashed and
 * decoded on `reader`'s worker thread; the event loop only builds the model around the decoded
 * tensors (its initial weights are not drawn), reads the fitted schema and runs the probe, with a
 * turn of the loop between these steps.
 */
export async function loadSnapshotOffLoop(dir: string, reader: WeightsReader, precision: Precision = 'fp32'): Promise<LoadedSnapshot> {
  const snapshot = loadSnapshotHead(dir, precision);
  await snapshot.loadWeights(reader);
  return snapshot as LoadedSnapshot;
}

/** The snapshot of `dir` without weights, and the function that gives it its weights (once, checked). */
function snapshotHead(dir: string, precision: Precision): { snapshot: ModelSnapshot; weigh(tensors: WeightTensors): ScoringModel } {
  const { stamp, bytes } = readStamped(dir);
  const manifest = readManifest(dir);
  // Checked here, not only when weights load: on a server whose thread scores, a user error at startup.
  checkInferencePrecision(manifest.model.type, precision);
  const saved: SavedSchema = readSavedSchema(manifest.schema, join(dir, MANIFEST_FILE));
  const { fitted } = saved;
  checkUnchanged(dir, stamp);
  const map = probabilityMap(manifest);
  const features = featureInfo(fitted.spec, fitted);
  let loaded: ScoringModel | undefined;
  let loading: Promise<ScoringModel> | undefined;
  let weights: WeightTensors | undefined;
  const build = (tensors: WeightTensors): ScoringModel =>
    scoringModel(dir, modelFromWeights(manifest, tensors, join(dir, manifest.weights.file), { inference: true }), manifest, precision, saved);
  /** `fromDisk`: the tensors were just read from `dir`, which must still hold this snapshot (shared ones were checked where they were read). */
  const adopt = (model: ScoringModel, tensors: WeightTensors, fromDisk = true): ScoringModel => {
    if (fromDisk) checkUnchanged(dir, stamp);
    const probe = scoreHeads(model.model, manifest, fitted, probeRow(snapshot), 0, 1, map).map((t) => t.probs);
    if (probe.some((p) => !Number.isFinite(p[0]!))) {
      throw new ModelFileError(`${dir}: the model scores a row of missing values as ${probe.map((p) => p[0]).join(', ')}, not a probability (damaged weights?)`);
    }
    loaded = model;
    // Kept only where another thread can hold them without a copy; elsewhere the model's own arrays suffice.
    if ([...tensors.values()].every((t) => t.data.buffer instanceof SharedArrayBuffer)) weights = tensors;
    snapshot.precision = model.precision;
    return model;
  };
  const snapshot: ModelSnapshot = {
    dir,
    version: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
    stamp,
    manifest,
    tasks: manifestTasks(manifest, fitted).map((t) => t.name),
    features,
    calibrated: map.calibrated,
    loadedAt: new Date(),
    encoder: new RowEncoder(fitted),
    fitted,
    probabilities: map,
    get loaded() {
      return loaded;
    },
    precision: undefined,
    get weights() {
      return weights;
    },
    shareWeights(tensors) {
      if (loaded === undefined) weights = tensors;
    },
    get scoresHere() {
      return loaded !== undefined || weights !== undefined;
    },
    loadWeights(reader) {
      if (loaded !== undefined) return Promise.resolve(loaded);
      if (weights !== undefined) return Promise.resolve().then(here);
      loading ??= (async () => {
        // Another snapshot's weights would fail the hash check below: say what happened instead.
        checkUnchanged(dir, stamp, `now holds another model than ${snapshot.version}`);
        const tensors = await reader.read(join(dir, manifest.weights.file), manifest.weights.sha256);
        await turn();
        const model = build(tensors);
        await turn();
        return adopt(model, tensors);
      })().finally(() => {
        loading = undefined;
      });
      return loading;
    },
    score(ds, start, end) {
      return scoreHeads(here().model, manifest, fitted, ds, start, end, map).map((t) => t.probs);
    },
  };
  /** The model here, built around shared weights on first need. */
  const here = (): ScoringModel => loaded ?? (weights !== undefined ? adopt(build(weights), weights, false) : weightsOf(snapshot));
  return { snapshot, weigh: (tensors) => adopt(build(tensors), tensors) };
}

/** A row of missing values, encoded: every probability of it must be finite. */
function probeRow(s: ModelSnapshot): Dataset {
  s.encoder.push(s.features.map((_, i) => fillerValue(s.fitted.spec, i)), 'probe', 0);
  return s.encoder.take();
}
