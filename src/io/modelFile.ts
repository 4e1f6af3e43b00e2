/**
 * Model files: a directory holding `manifest.json` (everything needed to rebuild and trust the
 * model: format version, model config, feature schema, metrics, provenance) and
 * `model.safetensors` (the weights, float bits exactly as trained). The directory is published
 * atomically, so a reader sees the previous model or the new one, never a manifest paired with
 * the wrong weights; the manifest also records the weights' sha256 to catch a damaged copy.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { CTRModel } from '../models/ctrModel.js';
import { createModel, parseModelConfig, type ModelConfig, type ModelDims } from '../models/registry.js';
import { featureInfoSchema, type FeatureInfo } from '../data/features.js';
import { publishDirAtomic, recoverPublishedDir, writeFileAtomic } from './atomic.js';
import { assertFinite } from './finite.js';
import { moduleTensors } from './moduleTensors.js';
import { ModelFileError } from './modelFileError.js';
import { ctrkitVersion } from './provenance.js';
import { encodeSafetensors } from './safetensors.js';
import { readVerifiedWeights, type WeightTensors } from './verifiedWeights.js';
import { withoutInitialWeights } from '../nn/init.js';


export { ModelFileError } from './modelFileError.js';

export const MODEL_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const WEIGHTS_FILE = 'model.safetensors';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Provenance {
  /** dataHash() of the training data sources. */
  dataHash: string;
  seed: number;
  ctrkitVersion: string;
  /** Free text: the command line, user or pipeline that produced the model. */
  createdBy?: string;
  trainRows?: number;
  /** The kernels that trained it and their thread count (absent in manifests before they were recorded). */
  backend?: 'native' | 'reference';
  threads?: number;
}

/**
 * How the fit rows were sampled (data.sampling), so that scoring can undo it. Absent in manifests
 * of unsampled models and of ctrkit versions before sampling existed: both mean "not sampled".
 */
export interface SamplingRecord {
  /** Rate at which negative fit rows were kept (1 = all). */
  negativeSampleRate: number;
  /** Weight of positive fit rows (1 = unweighted). */
  betaPos?: number;
  /** Whether predictions are corrected for the sampling (train.correctSampling). */
  corrected: boolean;
}

/**
 * How the training metrics weighted the rows, so that `ctrkit eval` computes the same metrics.
 * Absent in manifests written before it existed: unweighted (β_pos 1), as those evaluations were.
 */
export interface EvaluationRecord {
  /** β_pos (train.loss.betaPos): positives count with this weight, times any sample weight. */
  positiveWeight: number;
}

/**
 * One task of a multi-task model (or of a single-task run configured with train.tasks): the head
 * of that name is scored against label `label`, on the rows where label `on` is 1 when `on` is
 * given. Absent in manifests of runs without train.tasks: one task, the first label.
 */
export interface TaskRecord {
  name: string;
  /** The model head it reads, when not the head of its name. */
  head?: string;
  label: string;
  on?: string;
  /**
   * How this task's probabilities undo data.sampling, when it differs from the run's (the first
   * label's) record: CTCVR's rate r' of SPEC §3, or none for a task on the sampled label's positives.
   */
  sampling?: SamplingRecord | null;
}

export interface ModelManifest {
  formatVersion: typeof MODEL_FORMAT_VERSION;
  createdAt: string;
  model: ModelConfig;
  dims: ModelDims;
  /** The fitted feature schema (vocabularies, field order) as the data layer serialised it. */
  schema: JsonValue;
  /** Evaluation metrics by name; null where a metric was undefined (e.g. AUC with one class). */
  metrics: Record<string, number | null>;
  provenance: Provenance;
  calibration?: JsonValue;
  sampling?: SamplingRecord;
  evaluation?: EvaluationRecord;
  tasks?: TaskRecord[];
  /** A distilled student's term and teacher (src/experiment/teacher.ts: DistillationRecord). */
  distillation?: JsonValue;
  weights: { file: string; sha256: string; bytes: number; tensors: number };
}

export interface SaveModelOptions {
  model: CTRModel;
  modelConfig: ModelConfig;
  schema: JsonValue;
  metrics: Readonly<Record<string, number | null>>;
  /** ctrkitVersion defaults to this package's version. */
  provenance: Omit<Provenance, 'ctrkitVersion'> & { ctrkitVersion?: string };
  calibration?: JsonValue;
  sampling?: SamplingRecord;
  evaluation?: EvaluationRecord;
  tasks?: TaskRecord[];
  distillation?: JsonValue;
  /** Defaults to the model's own numIds / numFields. */
  dims?: ModelDims;
}

function modelDims(model: CTRModel, given: ModelDims | undefined): ModelDims {
  if (given) return given;
  const cfg = (model as unknown as { cfg?: Record<string, unknown> }).cfg;
  const numIds = cfg?.numIds;
  if (typeof numIds !== 'number') throw new Error(`saveModel: cannot tell the model's numIds; pass dims`);
  const dims: ModelDims = { numIds };
  for (const k of ['numFields', 'denseDim', 'numSequences'] as const) {
    const v = cfg?.[k];
    if (typeof v === 'number' && v > 0) dims[k] = v;
  }
  if (Array.isArray(cfg?.features)) dims.features = cfg.features as FeatureInfo[];
  if (Array.isArray(cfg?.tasks)) dims.tasks = [...(cfg.tasks as string[])];
  return dims;
}

/**
 * Catches a modelConfig that does not describe the model (which would save fine and then fail
 * to load, or load a different architecture): the model classes take the same field names.
 */
function checkConfigDescribesModel(model: CTRModel, cfg: ModelConfig): void {
  if (model.kind !== cfg.type) throw new Error(`saveModel: modelConfig.type is '${cfg.type}' but the model is '${model.kind}'`);
  const own = (model as unknown as { cfg?: Record<string, unknown> }).cfg ?? {};
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'type' || own[k] === undefined) continue;
    if (JSON.stringify(own[k]) !== JSON.stringify(v)) {
      throw new Error(`saveModel: modelConfig.${k} is ${JSON.stringify(v)} but the model was built with ${JSON.stringify(own[k])}`);
    }
  }
}

function sha256Chunks(chunks: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

/** Writes the model directory `dir` atomically (replacing a previous one). */
export function saveModel(dir: string, opts: SaveModelOptions): ModelManifest {
  const { model, modelConfig } = opts;
  checkConfigDescribesModel(model, modelConfig);
  const tensors = moduleTensors(model);
  assertFinite([...tensors].map(([n, t]) => [n, t.data] as const), `saveModel ${dir}`);
  const metrics: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(opts.metrics)) metrics[k] = v !== null && Number.isFinite(v) ? v : null;
  const chunks = encodeSafetensors(tensors, { format: 'ctrkit', formatVersion: String(MODEL_FORMAT_VERSION) }, join(dir, WEIGHTS_FILE));
  const manifest: ModelManifest = {
    formatVersion: MODEL_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    model: modelConfig,
    dims: modelDims(model, opts.dims),
    schema: opts.schema,
    metrics,
    provenance: { ...opts.provenance, ctrkitVersion: opts.provenance.ctrkitVersion ?? ctrkitVersion() },
    ...(opts.calibration !== undefined ? { calibration: opts.calibration } : {}),
    ...(opts.sampling !== undefined ? { sampling: opts.sampling } : {}),
    ...(opts.evaluation !== undefined ? { evaluation: opts.evaluation } : {}),
    ...(opts.tasks !== undefined ? { tasks: opts.tasks } : {}),
    ...(opts.distillation !== undefined ? { distillation: opts.distillation } : {}),
    weights: { file: WEIGHTS_FILE, sha256: sha256Chunks(chunks), bytes: chunks.reduce((n, c) => n + c.length, 0), tensors: tensors.size },
  };
  publishDirAtomic(dir, (tmp) => {
    writeFileAtomic(join(tmp, WEIGHTS_FILE), chunks);
    writeFileSync(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  });
  return manifest;
}

const nonNegInt = z.number().int().min(0);
const samplingSchema = z.object({
  negativeSampleRate: z.number().gt(0).max(1), betaPos: z.number().positive().optional(), corrected: z.boolean(),
});
const manifestSchema = z.object({
  formatVersion: z.literal(MODEL_FORMAT_VERSION),
  createdAt: z.string(),
  model: z.unknown(),
  dims: z.object({
    numIds: nonNegInt.positive(), numFields: nonNegInt.positive().optional(),
    denseDim: nonNegInt.optional(), numSequences: nonNegInt.optional(), features: z.array(featureInfoSchema).optional(),
    tasks: z.array(z.string().min(1)).optional(),
  }),
  schema: z.json(),
  metrics: z.record(z.string(), z.number().nullable()),
  provenance: z.object({
    dataHash: z.string(), seed: z.number(), ctrkitVersion: z.string(), createdBy: z.string().optional(), trainRows: nonNegInt.optional(),
    backend: z.enum(['native', 'reference']).optional(), threads: nonNegInt.positive().optional(),
  }),
  calibration: z.json().optional(),
  sampling: samplingSchema.optional(),
  evaluation: z.object({ positiveWeight: z.number().positive() }).optional(),
  tasks: z.array(z.object({
    name: z.string().min(1), head: z.string().min(1).optional(), label: z.string().min(1), on: z.string().min(1).optional(), sampling: samplingSchema.nullable().optional(),
  })).min(1).optional(),
  distillation: z.json().optional(),
  weights: z.object({
    // A bare file name: a manifest must not point outside its own directory.
    file: z.string().regex(/^[A-Za-z0-9._-]+$/).refine((f) => f !== '.' && f !== '..', 'must be a file name'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: nonNegInt,
    tensors: nonNegInt,
  }),
});

/** The manifest of a model directory, validated (the weights are not read). */
export function readManifest(dir: string): ModelManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new ModelFileError(`${path}: not found (${dir} is not a ctrkit model directory)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelFileError(`${path}: corrupt manifest, not valid JSON (${(e as Error).message})`);
  }
  const version = typeof raw === 'object' && raw !== null ? (raw as { formatVersion?: unknown }).formatVersion : undefined;
  if (version !== MODEL_FORMAT_VERSION) {
    throw new ModelFileError(`${path}: unknown formatVersion ${JSON.stringify(version)}; this ctrkit (${ctrkitVersion()}) reads version ${MODEL_FORMAT_VERSION}`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    throw new ModelFileError(`${path}: corrupt manifest: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const model = parseModelConfig(r.data.model, `${path}: model`);
  return { ...r.data, model } as ModelManifest;
}

export interface LoadModelOptions {
  /**
   * Repair a publish that a crash interrupted first (default true). A reader that runs beside a
   * live writer (the server) passes false: a missing directory there is a publish in progress,
   * and renaming its siblings would race the writer's own rename.
   */
  recover?: boolean;
  /**
   * The model only scores (default false): its initial weights are not drawn before the saved ones
   * replace them (withoutInitialWeights), and its embedding tables adopt the decoded arrays rather
   * than copy them; for a large table each saves seconds.
   */
  inference?: boolean;
}

/** The manifest's model with `tensors` (from its weights file, named in errors) loaded, in eval mode. */
export function modelFromWeights(manifest: ModelManifest, tensors: WeightTensors, weightsPath: string, opts: LoadModelOptions = {}): CTRModel {
  const build = (): CTRModel => createModel(manifest.model, manifest.dims, manifest.provenance.seed);
  const model = opts.inference ? withoutInitialWeights(build) : build();
  const expected = moduleTensors(model);
  const missing = [...expected.keys()].filter((n) => !tensors.has(n));
  const extra = [...tensors.keys()].filter((n) => !expected.has(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new ModelFileError(`${weightsPath}: tensors do not match the '${manifest.model.type}' model of the manifest`
      + (missing.length ? `; missing: ${missing.join(', ')}` : '') + (extra.length ? `; unexpected: ${extra.join(', ')}` : ''));
  }
  const state = new Map<string, Float32Array>();
  for (const [name, want] of expected) {
    const got = tensors.get(name)!;
    if (got.dtype !== 'F32') throw new ModelFileError(`${weightsPath}: tensor '${name}' is ${got.dtype}, expected F32`);
    if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
      throw new ModelFileError(`${weightsPath}: tensor '${name}' has shape [${got.shape.join(', ')}], the model expects [${want.shape.join(', ')}]`);
    }
    state.set(name, got.data as Float32Array);
  }
  // The decoded arrays are this model's alone: an inference load adopts the tables rather than copy them.
  model.loadStateDict(state, { adoptTables: opts.inference === true });
  model.eval();
  return model;
}

/** Loads a model directory written by saveModel; the model is returned in eval mode. */
export function loadModel(dir: string, opts: LoadModelOptions = {}): { model: CTRModel; manifest: ModelManifest } {
  if (opts.recover ?? true) recoverPublishedDir(dir);
  const manifest = readManifest(dir);
  const weightsPath = join(dir, manifest.weights.file);
  return { model: modelFromWeights(manifest, readVerifiedWeights(weightsPath, manifest.weights.sha256), weightsPath, opts), manifest };
}
