/**
 * A checkpoint records the config it was trained under, and `--resume` with an edited config is
 * refused, naming each change (dotted key path, old → new), unless forced. A resume is allowed
 * when the resumed run still ends exactly where a fresh run of the edited config would:
 *   - train.threads: results are bit-identical for any thread count;
 *   - train.logEvery, train.checkpointEvery: what is logged and saved, not what is trained;
 *   - train.calibration: fit after training, on the final weights;
 *   - data.cache, data.workers: the encoded rows are identical;
 *   - data.onBadLine: the same rows, or a stop naming the bad line;
 *   - train.online.readAhead: the same batches, encoded on another thread;
 *   - train.epochs, when at least the epochs the checkpoint has completed (nothing else depends
 *     on the epoch count, so more epochs continue the same run).
 */
import type { TrainerState } from '../train/checkpoint.js';

export class ResumeConfigError extends Error {
  override readonly name = 'ResumeConfigError';
}

/** Keys whose change cannot make the resumed run differ from a fresh run of the edited config. */
const FREE_KEYS = new Set(['train.threads', 'train.logEvery', 'train.checkpointEvery', 'train.calibration', 'data.cache', 'data.workers', 'data.onBadLine', 'train.online.readAhead']);

export interface ConfigChange {
  /** Dotted key path, array elements by index (data.fields.3.transform). */
  path: string;
  /** undefined: the key is absent on that side. */
  before: unknown;
  after: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every difference between two JSON values. Objects are compared key by key, arrays of
 * objects element by element; any other array is one value (model.hidden: [400] → [400, 400]).
 */
export function configChanges(before: unknown, after: unknown, path = ''): ConfigChange[] {
  const at = (k: string | number): string => (path === '' ? String(k) : `${path}.${k}`);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => configChanges(before[k], after[k], at(k)));
  }
  if (Array.isArray(before) && Array.isArray(after) && [...before, ...after].some((v) => isObject(v) || Array.isArray(v))) {
    return Array.from({ length: Math.max(before.length, after.length) }, (_, i) => configChanges(before[i], after[i], at(i))).flat();
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path, before, after }];
}

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Throws ResumeConfigError when `saved` (the checkpoint's config, undefined for a checkpoint
 * from before configs were recorded) differs from `current` in a key that matters.
 */
export function checkResumeConfig(saved: unknown, current: unknown, state: TrainerState, where: string): void {
  const force = 'resume with the config it was written with, start afresh without --resume, or pass --force-resume to continue under this one';
  if (saved === undefined) throw new ResumeConfigError(`${where} records no config (written by an older ctrkit): ${force}`);
  // A round trip drops undefined-valued keys, so an optional key left unset matches its absence.
  const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
  const changes = configChanges(norm(saved), norm(current)).filter((c) => {
    if (FREE_KEYS.has(c.path)) return false;
    return !(c.path === 'train.epochs' && typeof c.after === 'number' && c.after >= state.epoch);
  });
  if (changes.length === 0) return;
  const shown = changes.slice(0, 8).map((c) => `${c.path}: ${show(c.before)} → ${show(c.after)}`);
  if (changes.length > 8) shown.push(`… and ${changes.length - 8} more`);
  throw new ResumeConfigError(`${where} was written with another config (${shown.join('; ')}): ${force}`);
}
