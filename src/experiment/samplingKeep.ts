/**
 * The keep probabilities of `data.sampling.loss` and `data.sampling.position` (the inverse-
 * propensity samplers of src/data/sampling/ipw.ts) for a run's rows:
 *  - loss: a trained teacher's loss on each row, computed once — in epoch mode over the fit rows
 *    through the distillation teacher's scoring and cache (teacher.ts); in online mode by one pass
 *    of the teacher over the stream file before training, cached in the output directory by the
 *    teacher's hash, the file's and the settings', so a resumed run reads the same probabilities;
 *  - position: the position column rides along with the rows as a hidden label (hiddenLabel.ts),
 *    taken off before anything else reads the rows.
 * The product of the two is each row's probability; the draw itself is the samplers' (one per row,
 * seeded, by row in epoch mode and by stream position online).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashSchema } from '../data/cache/index.js';
import type { Dataset } from '../data/dataset.js';
import { DataFormatError } from '../data/readers/errors.js';
import { bceOfLogit, lossKeepProbs, positionKeepProb, type PositionKeep } from '../data/sampling/ipw.js';
import { cacheKey, ConfigError, openRowStream, type CachedBuildResult, type DataConfig, type SamplingConfig } from '../schema/index.js';
import { takeLabel, withoutLabel } from '../schema/hiddenLabel.js';
import { teacherLogits } from '../losses/teacherLogits.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { dataHash } from '../io/provenance.js';
import { predictRows } from '../train/predict.js';
import type { ExperimentConfig } from './config.js';
import { loadTeacher, teacherDirectory, teacherModelLogits, type AttachOptions } from './teacher.js';

/** The hidden label that carries data.sampling.position.column. */
export const POSITION_LABEL = 'sampling.position';
const TEACHER_KEY = 'data.sampling.loss.teacher';

/** `data` with the position column as a hidden graded label (a number on every line, checked as it is read). */
export function withPositionLabel(data: DataConfig): DataConfig {
  const p = data.sampling?.position;
  if (p === undefined) return data;
  return { ...data, labels: [...data.labels, { name: POSITION_LABEL, column: p.column, type: 'graded' }] };
}

/** data.sampling.position as the sampler reads it (undefined: not set). */
export function positionKeep(s: SamplingConfig | undefined): PositionKeep | undefined {
  const p = s?.position;
  if (p === undefined) return undefined;
  return { beyond: p.beyond, rate: p.rate, rates: p.rates && new Map(Object.entries(p.rates).map(([k, v]) => [Number(k), v])) };
}

/** lossKeepProbs with an unreachable keepRate reported as the config's problem. */
function lossKeep(cfg: ExperimentConfig, losses: Float64Array, labels: Float32Array, where: string): Float32Array {
  const l = cfg.data.sampling!.loss!;
  try {
    return lossKeepProbs(losses, labels, { keepRate: l.keepRate, pMin: l.pMin, keepPositives: l.keepPositives });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ConfigError([`${cfg.file}: data.sampling.loss.keepRate: ${e.message} (${where})`]);
  }
}

export interface FitKeep {
  /** The build without the hidden position label. */
  built: CachedBuildResult;
  /** Keep probability of every row of built.dataset (1 outside the fit rows); undefined: no IPW sampler. */
  ipw?: Float32Array;
}

/** Epoch mode: the fit rows' keep probabilities (the rows in build order, before any sampling). */
export async function fitKeepProbs(cfg: ExperimentConfig, built: CachedBuildResult, opts: AttachOptions): Promise<FitKeep> {
  const s = cfg.data.sampling;
  const pk = positionKeep(s);
  if (s?.loss === undefined && pk === undefined) return { built };
  const { dataset, values: pos } = takeLabel(built.dataset, POSITION_LABEL);
  const out: CachedBuildResult = { ...built, dataset, fitted: withoutLabel(built.fitted, POSITION_LABEL) };
  const { fit } = out.split;
  const ipw = new Float32Array(dataset.numRows).fill(1);
  const y = dataset.labels[0]!;
  if (s?.loss !== undefined) {
    const { logits } = await teacherModelLogits(cfg, s.loss.teacher, dataset.numRows, opts, TEACHER_KEY);
    const n = fit.end - fit.start;
    const losses = new Float64Array(n);
    const labels = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      labels[k] = y[fit.start + k]! > 0 ? 1 : 0;
      losses[k] = bceOfLogit(logits[fit.start + k]!, labels[k]!);
    }
    ipw.set(lossKeep(cfg, losses, labels, `${n} fit rows`), fit.start);
  }
  if (pk !== undefined) for (let i = fit.start; i < fit.end; i++) ipw[i] = ipw[i]! * positionKeepProb(pos![i]!, pk);
  return { built: out, ipw };
}

const STREAM_CACHE_VERSION = 1;

/**
 * Online mode, loss-based: the keep probability of the row on each line of the stream file `input`
 * (NaN: no row there), from one pass of the teacher over the file; cached in `cacheDir`.
 */
export async function streamLossKeep(cfg: ExperimentConfig, input: string, onBadLine: 'error' | 'skip', cacheDir: string, note: (line: string) => void): Promise<Float32Array> {
  const l = cfg.data.sampling!.loss!;
  const { abs, hash } = teacherDirectory(cfg, l.teacher, TEACHER_KEY);
  const key = hashSchema({ version: STREAM_CACHE_VERSION, teacher: hash, data: cacheKey(cfg.data, { onBadLine }), loss: { ...l, teacher: hash }, files: dataHash([input]) }).slice(0, 32);
  const cacheFile = join(cacheDir, `${key}.f32`);
  if (existsSync(cacheFile)) {
    const bytes = new Uint8Array(readFileSync(cacheFile));
    note(`ctrkit: sampling keep probabilities loaded from ${cacheFile}`);
    return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
  }
  const teacher = loadTeacher(cfg, abs, TEACHER_KEY);
  const lines: number[] = [];
  const losses: number[] = [];
  const labels: number[] = [];
  try {
    const rows = await openRowStream(teacher.fitted, cfg.data.source, input, cfg.baseDir, { batchSize: 4096, onBadLine });
    for await (const b of rows) {
      const ds: Dataset = b.dataset;
      const y = ds.labels[0];
      if (y === undefined) throw new ConfigError([`${cfg.file}: ${TEACHER_KEY}: the teacher ${abs} reads no label, so it has no loss`]);
      const z = teacherLogits(teacher.map.apply(predictRows(teacher.model, ds, { start: 0, end: ds.numRows })));
      for (let i = 0; i < ds.numRows; i++) {
        const yi = y[i]! > 0 ? 1 : 0;
        lines.push(b.lines[i]!);
        labels.push(yi);
        losses.push(bceOfLogit(z[i]!, yi));
      }
    }
  } catch (e) {
    if (!(e instanceof DataFormatError)) throw e;
    throw new ConfigError([`${cfg.file}: ${TEACHER_KEY}: the teacher ${abs} cannot read the stream: ${e.message}`]);
  }
  const p = lossKeep(cfg, Float64Array.from(losses), Float32Array.from(labels), `${lines.length} rows of ${input}`);
  const byLine = new Float32Array((lines[lines.length - 1] ?? 0) + 1).fill(NaN);
  for (let k = 0; k < lines.length; k++) byLine[lines[k]!] = p[k]!;
  ensureDir(cacheDir);
  writeFileAtomic(cacheFile, new Uint8Array(byLine.buffer));
  note(`ctrkit: teacher ${abs} scored ${lines.length} rows of ${input} for loss-based sampling (cached in ${cacheFile})`);
  return byLine;
}

/**
 * Online mode: each batch row's keep probability (undefined: no IPW sampler), from the loss-based
 * probabilities by line and the batch's position label, which is taken off the batch.
 */
export function streamBatchKeep(ds: Dataset, lines: ArrayLike<number>, lossByLine: Float32Array | undefined, pk: PositionKeep | undefined, input: string):
  { dataset: Dataset; ipw?: Float32Array } {
  if (lossByLine === undefined && pk === undefined) return { dataset: ds };
  const { dataset, values: pos } = takeLabel(ds, POSITION_LABEL);
  const ipw = new Float32Array(ds.numRows);
  for (let i = 0; i < ds.numRows; i++) {
    let p = 1;
    if (lossByLine !== undefined) {
      const q = lossByLine[lines[i]!];
      if (q === undefined || Number.isNaN(q)) throw new DataFormatError(input, lines[i]!, undefined, 'the loss-based sampling teacher read no row on this line (its schema skipped it, or the file changed since it was scored)');
      p = q;
    }
    if (pk !== undefined) p *= positionKeepProb(pos![i]!, pk);
    ipw[i] = p;
  }
  return { dataset, ipw };
}
