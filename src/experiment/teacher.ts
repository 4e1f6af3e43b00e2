/**
 * The teacher of a distilled run (train.distill, docs/distillation.md) and what the student reads:
 *  - two-stage (`teacher: { model: DIR }`): a trained model directory scores every row once, through
 *    its own fitted schema and calibration; the scores are cached beside the data cache, keyed by the
 *    teacher's manifest hash and the data, so every student of one teacher reuses them;
 *  - external (`teacher: { column: NAME }`): probabilities read with the data, checked per line;
 *  - joint (`teacher: { model: <model section> }`): a teacher trained in the same run on every
 *    feature, privileged ones included, on its own BCE; the student's term reads its logits as
 *    constants (the stop-gradient).
 * Either way the student sees the data without its privileged columns (FittedSchema.withoutPrivileged).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Batch } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import type { ColumnProjection } from '../data/projection.js';
import { DataFormatError } from '../data/readers/errors.js';
import { hashSchema } from '../data/cache/index.js';
import {
  cacheKey, ConfigError, dataRowFiles, encodeFile, type FittedSchema, withSourcePath, type CachedBuildResult, type DataConfig,
} from '../schema/index.js';
import { takeLabel, withoutLabel } from '../schema/hiddenLabel.js';
import { CTRModel, type RepresentedOutput } from '../models/ctrModel.js';
import { createModel } from '../models/registry.js';
import { createDistillation } from '../losses/distillRegistry.js';
import type { LossTerm } from '../losses/combined.js';
import { teacherLogits } from '../losses/teacherLogits.js';
import { weightedBce } from '../losses/weightedBce.js';
import { MANIFEST_FILE } from '../io/modelFile.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { dataHash, sha256File } from '../io/provenance.js';
import { predictRows } from '../train/predict.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ExperimentConfig } from './config.js';
import { TEACHER_LABEL, type DistillRunConfig } from './distillConfig.js';
import { loadScoringModel, probabilityMap, type ProbabilityMap, type ScoringModel } from './scoring.js';

/** Who taught the student, as its manifest records it. */
export type TeacherRecord =
  | { mode: 'model'; path: string; hash: string }
  | { mode: 'joint'; model: string }
  | { mode: 'column'; column: string };

export interface DistillationRecord {
  type: string;
  beta: number;
  teacher: TeacherRecord;
}

/**
 * The data section the run builds: with a `column` teacher its column rides along as one more
 * (graded) label, so that it is read, checked, split, sampled and cached with the rows; the label
 * is taken off again by attachTeacher.
 */
export function buildDataConfig(cfg: ExperimentConfig): DataConfig {
  const t = cfg.train.distill?.teacher;
  if (t?.kind !== 'column') return cfg.data;
  return { ...cfg.data, labels: [...cfg.data.labels, { name: TEACHER_LABEL, column: t.column, type: 'graded' }] };
}

/** Checks each teacher probability as it is read, so that a bad one is named by file, line and column. */
export function teacherColumnCheck(cfg: ExperimentConfig): ((row: { labels: Float64Array }, line: number, file: string) => void) | undefined {
  const t = cfg.train.distill?.teacher;
  if (t?.kind !== 'column') return undefined;
  const k = cfg.data.labels.length;
  return (row, line, file) => {
    const p = row.labels[k]!;
    if (!(p >= 0 && p <= 1)) throw new DataFormatError(file, line, t.column, `teacher probability ${Number.isNaN(p) ? 'is NaN' : `${p} is outside [0, 1]`}`);
  };
}

export interface TeacherData {
  /** The build with the teacher's logits attached (two-stage, external) and the hidden label gone. */
  built: CachedBuildResult;
  record: TeacherRecord;
}

export interface AttachOptions {
  onBadLine: 'error' | 'skip';
  note: (line: string) => void;
}

/** Attaches the teacher's logits to the built rows (before any sampling: the rows are in build order). */
export async function attachTeacher(cfg: ExperimentConfig, built: CachedBuildResult, opts: AttachOptions): Promise<TeacherData> {
  const d = cfg.train.distill!;
  const t = d.teacher;
  const ds = built.dataset;
  switch (t.kind) {
    case 'joint':
      return { built, record: { mode: 'joint', model: t.model.type } };
    case 'column': {
      const { dataset, values } = takeLabel(ds, TEACHER_LABEL);
      return { built: { ...built, dataset: { ...dataset, teacherLogits: teacherLogits(values!) }, fitted: withoutLabel(built.fitted, TEACHER_LABEL) }, record: { mode: 'column', column: t.column } };
    }
    case 'model': {
      const { logits, record } = await teacherModelLogits(cfg, t.dir, ds.numRows, opts, 'train.distill.teacher.model');
      return { built: { ...built, dataset: { ...ds, teacherLogits: logits } }, record };
    }
  }
}

const CACHE_VERSION = 1;

/**
 * The manifest hash of a two-stage teacher's directory when it exists (else undefined): what a
 * student's result depends on besides its config, so a retrained teacher makes it stale.
 */
export function teacherModelHash(cfg: ExperimentConfig): string | undefined {
  const t = cfg.train.distill?.teacher;
  if (t?.kind !== 'model' || !existsSync(join(resolve(cfg.baseDir, t.dir), MANIFEST_FILE))) return undefined;
  return teacherDirectory(cfg, t.dir, 'train.distill.teacher.model').hash;
}

/**
 * A teacher model directory (`dir`, relative to the config) and its hash, the cache key of its
 * scores: the manifest records the weights' SHA-256, the schema and the calibration, all a
 * teacher's scores depend on. `key` is the config key that names it, for the error.
 */
export function teacherDirectory(cfg: ExperimentConfig, dir: string, key: string): { abs: string; hash: string } {
  const abs = resolve(cfg.baseDir, dir);
  const manifestFile = join(abs, MANIFEST_FILE);
  if (!existsSync(manifestFile)) throw new ConfigError([`${cfg.file}: ${key}: ${abs} is not a ctrkit model directory (no ${MANIFEST_FILE})`]);
  return { abs, hash: `sha256:${sha256File(manifestFile)}` };
}

/** A teacher that gives one score per row, with the probabilities its predictions report. */
export function loadTeacher(cfg: ExperimentConfig, abs: string, key: string): ScoringModel & { map: ProbabilityMap } {
  const teacher = loadScoringModel(abs);
  if ((teacher.manifest.tasks?.length ?? 1) > 1) throw new ConfigError([`${cfg.file}: ${key}: ${abs} is a multi-task model; a teacher gives one score per row`]);
  return { ...teacher, map: probabilityMap(teacher.manifest) };
}

/**
 * A trained model's logits of every row, through its own schema and calibration, cached under
 * data.cache (shared by every run that reads the data with that teacher: distillation, loss-based
 * sampling). `key` is the config key naming the teacher.
 */
export async function teacherModelLogits(cfg: ExperimentConfig, dir: string, numRows: number, opts: AttachOptions, key: string): Promise<{ logits: Float32Array; record: TeacherRecord }> {
  const where = `${cfg.file}: ${key}`;
  const { abs, hash } = teacherDirectory(cfg, dir, key);
  const record: TeacherRecord = { mode: 'model', path: abs, hash };
  const files = dataRowFiles(cfg.data, cfg.baseDir);
  const cached = hashSchema({ version: CACHE_VERSION, teacher: hash, data: cacheKey(cfg.data, { onBadLine: opts.onBadLine }), files: dataHash(files) }).slice(0, 32);
  const cacheFile = cfg.data.cache === undefined ? undefined : join(resolve(cfg.baseDir, cfg.data.cache), 'teachers', `${cached}.f32`);
  if (cacheFile !== undefined && existsSync(cacheFile) && statSync(cacheFile).size === numRows * 4) {
    // Copied into a buffer of its own: a Buffer's byteOffset need not be a multiple of 4.
    const bytes = new Uint8Array(readFileSync(cacheFile));
    opts.note(`ctrkit: teacher scores loaded from the cache ${cacheFile}`);
    return { logits: new Float32Array(bytes.buffer, 0, numRows), record };
  }
  const teacher = loadTeacher(cfg, abs, key);
  const { map } = teacher;
  const parts: Float32Array[] = [];
  for (const file of files) {
    let encoded;
    try {
      encoded = await encodeFile(teacher.fitted, withSourcePath(cfg.data.source, file), { labels: false, onBadLine: opts.onBadLine, baseDir: cfg.baseDir });
    } catch (e) {
      if (!(e instanceof ConfigError || e instanceof DataFormatError)) throw e;
      throw new ConfigError([`${where}: the teacher ${abs} cannot read the data: ${e.message}`]);
    }
    const tds = encoded.dataset;
    parts.push(teacherLogits(map.apply(predictRows(teacher.model, tds, { start: 0, end: tds.numRows }))));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (total !== numRows) {
    throw new ConfigError([`${where}: the teacher ${abs} read ${total} rows of ${files.join(', ')}, the student's data has ${numRows} (the teacher's schema skips other lines: does it match the data?)`]);
  }
  const logits = new Float32Array(total);
  let at = 0;
  for (const p of parts) { logits.set(p, at); at += p.length; }
  if (cacheFile !== undefined) {
    ensureDir(join(cacheFile, '..'));
    writeFileAtomic(cacheFile, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
    opts.note(`ctrkit: teacher ${abs} scored ${total} rows, cached in ${cacheFile}`);
  } else {
    opts.note(`ctrkit: teacher ${abs} scored ${total} rows (set data.cache to keep the scores for the next student)`);
  }
  return { logits, record };
}

/**
 * The module a joint run trains: the teacher on the full batch, the student on its projection. Its
 * forward is the student's, so validation and every metric see the student; its parameters are
 * both models', so one optimiser trains both.
 */
export class JointDistillModel extends CTRModel {
  readonly kind = 'joint-distill';

  constructor(readonly teacher: CTRModel, readonly student: CTRModel, private readonly projection: ColumnProjection | undefined) {
    super();
    this.child('teacher', teacher);
    this.child('student', student);
  }

  studentBatch(b: Batch): Batch {
    return this.projection ? this.projection.batch(b) : b;
  }

  forward(b: Batch): Tensor {
    return this.student.forward(this.studentBatch(b));
  }

  override forwardWithRepresentation(b: Batch): RepresentedOutput {
    if (!this.student.forwardWithRepresentation) throw new Error(`${this.student.kind} has no representation`);
    return this.student.forwardWithRepresentation(this.studentBatch(b));
  }
}

/** The jointly trained teacher, over every feature of the full dataset. */
export function createJointTeacher(d: DistillRunConfig, fitted: FittedSchema, ds: Dataset, seed: number): CTRModel | undefined {
  if (d.teacher.kind !== 'joint') return undefined;
  return createModel(d.teacher.model, {
    numIds: ds.numIds, numFields: ds.numFields, denseDim: ds.denseNames?.length ?? 0, numSequences: ds.sequences?.length ?? 0, features: fitted.features(),
  }, seed);
}

/**
 * The terms a distilled run adds to the student's loss: β·r(t)·L_d against the teacher's logits
 * (the batch's, or the joint teacher's, read as constants) and, for a joint teacher, its own BCE.
 */
export function distillationTerms(d: DistillRunConfig, teacher: CTRModel | undefined, step: () => number): (z: Tensor, b: Batch) => LossTerm[] {
  const dist = createDistillation(d.term);
  return (z, b) => {
    if (teacher !== undefined) {
      const zt = teacher.forward(b);
      return [{ loss: weightedBce(zt, b), weight: 1 }, dist.term(z, zt, b, step())];
    }
    if (b.teacherLogits === undefined) throw new Error('distillation: the batch has no teacher logits');
    return [dist.term(z, b.teacherLogits, b, step())];
  };
}

export function distillationRecord(d: DistillRunConfig, teacher: TeacherRecord): DistillationRecord {
  return { type: d.term.type, beta: d.term.beta ?? 1, teacher };
}
