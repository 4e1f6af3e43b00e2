/**
 * Checkpoints on disk: `<dir>/last/` and `<dir>/best/`, each a directory published atomically
 * with `tensors.safetensors` (model tensors as `model.<name>`, optimiser buffers as
 * `optimizer.<key>`) and `trainer.json` (trainer state and optimiser step count). A crash while
 * saving leaves the previous checkpoint of that tag loadable, so `--resume` always has one.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Checkpoint, CheckpointStore, CheckpointTag, TrainerState } from '../train/checkpoint.js';
import { publishDirAtomic, recoverPublishedDir, writeFileAtomic } from './atomic.js';
import { assertFinite } from './finite.js';
import { encodeSafetensors, readSafetensors, type TensorInput } from './safetensors.js';

export const CHECKPOINT_FORMAT_VERSION = 1;
const TENSORS_FILE = 'tensors.safetensors';
const STATE_FILE = 'trainer.json';
const MODEL_PREFIX = 'model.';
const OPT_PREFIX = 'optimizer.';

/**
 * Resuming must reproduce the run bit for bit, but JSON has no NaN, ±Infinity or -0 (metrics
 * in the history can be NaN), so those travel as {"$number": "…"}.
 */
function encodeNumbers(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $number: Object.is(v, -0) ? '-0' : String(v) };
  return v;
}

function decodeNumbers(_key: string, v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const s = (v as { $number?: unknown }).$number;
    if (keys.length === 1 && typeof s === 'string' && ['NaN', 'Infinity', '-Infinity', '-0'].includes(s)) return s === '-0' ? -0 : Number(s);
  }
  return v;
}

/** zod's number() rejects NaN and ±Infinity, which are legitimate here (see encodeNumbers). */
const anyNumber = z.custom<number>((v) => typeof v === 'number', 'expected a number');

const trainerSchema = z.object({
  epoch: z.number().int().min(0),
  stepInEpoch: z.number().int().min(0),
  globalStep: z.number().int().min(0),
  epochRngState: z.array(anyNumber),
  best: z.object({ metric: anyNumber, epoch: z.number().int() }).nullable(),
  epochsWithoutImprovement: z.number().int().min(0),
  history: z.array(z.record(z.string(), anyNumber)),
  // Without them a mid-epoch resume from disk would report that epoch's loss over its last rows only.
  epochLossSum: anyNumber.optional(),
  epochRows: z.number().int().min(0).optional(),
  auxiliary: z.record(z.string(), z.unknown()).optional(),
});

const stateFileSchema = z.object({
  formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION),
  optimizerStepCount: z.number().int().min(0),
  trainer: trainerSchema,
  config: z.unknown().optional(),
});

export class FileCheckpointStore implements CheckpointStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The directory holding the checkpoint of `tag`. */
  path(tag: CheckpointTag): string {
    return join(this.dir, tag);
  }

  save(tag: CheckpointTag, c: Checkpoint): void {
    // A diverged model or optimiser must not replace the last good checkpoint.
    assertFinite(c.model, `checkpoint '${tag}' (model)`);
    assertFinite(c.optimizer.buffers, `checkpoint '${tag}' (optimizer)`);
    const tensors = new Map<string, TensorInput>();
    for (const [n, a] of c.model) tensors.set(MODEL_PREFIX + n, { data: a, shape: [a.length] });
    for (const [k, a] of c.optimizer.buffers) tensors.set(OPT_PREFIX + k, { data: a, shape: [a.length] });
    const target = this.path(tag);
    const chunks = encodeSafetensors(tensors, { format: 'ctrkit-checkpoint' }, join(target, TENSORS_FILE));
    publishDirAtomic(target, (tmp) => {
      writeFileAtomic(join(tmp, TENSORS_FILE), chunks);
      const state = {
        formatVersion: CHECKPOINT_FORMAT_VERSION, optimizerStepCount: c.optimizer.stepCount, trainer: c.trainer,
        ...(c.config === undefined ? {} : { config: c.config }),
      };
      writeFileSync(join(tmp, STATE_FILE), JSON.stringify(state, encodeNumbers, 2) + '\n');
    });
  }

  /**
   * The trainer state and recorded config of a checkpoint without reading its tensors (cheap,
   * e.g. to check a resume before building the data set); null when there is none.
   */
  peek(tag: CheckpointTag): { trainer: TrainerState; config?: unknown } | null {
    const s = this.readState(tag);
    return s && { trainer: s.trainer as TrainerState, ...(s.config === undefined ? {} : { config: s.config }) };
  }

  load(tag: CheckpointTag): Checkpoint | null {
    const state = this.readState(tag);
    if (!state) return null;
    const corrupt = (msg: string): never => this.corrupt(tag, msg);
    const tensorsPath = join(this.path(tag), TENSORS_FILE);
    let loaded: ReturnType<typeof readSafetensors>;
    try {
      loaded = readSafetensors(tensorsPath);
    } catch (e) {
      return corrupt((e as Error).message);
    }
    const model = new Map<string, Float32Array>();
    const buffers = new Map<string, Float32Array>();
    for (const [name, t] of loaded.tensors) {
      if (t.dtype !== 'F32') corrupt(`tensor '${name}' is ${t.dtype}, expected F32`);
      if (name.startsWith(MODEL_PREFIX)) model.set(name.slice(MODEL_PREFIX.length), t.data as Float32Array);
      else if (name.startsWith(OPT_PREFIX)) buffers.set(name.slice(OPT_PREFIX.length), t.data as Float32Array);
      else corrupt(`tensor '${name}' is neither model.* nor optimizer.*`);
    }
    return {
      model, optimizer: { stepCount: state.optimizerStepCount, buffers }, trainer: state.trainer as TrainerState,
      ...(state.config === undefined ? {} : { config: state.config }),
    };
  }

  private readState(tag: CheckpointTag): z.output<typeof stateFileSchema> | null {
    const target = this.path(tag);
    recoverPublishedDir(target);
    if (!existsSync(target)) return null;
    const corrupt = (msg: string): never => this.corrupt(tag, msg);
    const statePath = join(target, STATE_FILE);
    if (!existsSync(statePath)) corrupt(`${STATE_FILE} is missing`);
    if (!existsSync(join(target, TENSORS_FILE))) corrupt(`${TENSORS_FILE} is missing`);

    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(statePath, 'utf8'), decodeNumbers);
    } catch (e) {
      corrupt(`${STATE_FILE} is not valid JSON (${(e as Error).message})`);
    }
    const parsed = stateFileSchema.safeParse(raw);
    if (!parsed.success) {
      corrupt(`${STATE_FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    return parsed.data!;
  }

  private corrupt(tag: CheckpointTag, msg: string): never {
    throw new Error(`FileCheckpointStore: checkpoint ${this.path(tag)} is corrupt: ${msg}`);
  }
}
