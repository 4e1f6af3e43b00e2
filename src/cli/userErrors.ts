/**
 * Which library errors are the user's to fix (bad config, bad data, a diverged run, a path that
 * cannot be read or written) and so print as one line without a stack trace, rather than as an
 * internal error.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../schema/errors.js';
import { DataFormatError } from '../data/readers/errors.js';
import { NonFiniteWeightsError } from '../io/finite.js';
import { ModelFileError } from '../io/modelFile.js';
import { OnnxExportError } from '../io/onnx/export.js';
import { LossConfigError } from '../losses/registry.js';
import { NonFiniteTrainingError } from '../train/trainer.js';
import { CacheCorruptError } from '../data/cache/index.js';
import { ResumeConfigError } from '../experiment/resumeGuard.js';
import { CliError } from './errors.js';
import { PrecisionError } from '../nn/quantize.js';

const USER_ERRORS = [ModelFileError, ConfigError, DataFormatError, NonFiniteWeightsError, LossConfigError, NonFiniteTrainingError, CacheCorruptError, ResumeConfigError, OnnxExportError, PrecisionError];

/** What a failed file-system call means to a user; codes not listed are not the user's to fix. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
};

/** What was being done, for the calls that do not just read (a read's failure needs no verb). */
const FS_OPS: Readonly<Record<string, string>> = {
  mkdir: 'cannot create the directory: ', write: 'cannot write: ', rename: 'cannot write: ', unlink: 'cannot remove: ', rmdir: 'cannot remove: ',
};

/**
 * "path: reason" for a Node file-system error the user can fix, else undefined. `path` overrides
 * the error's own (which may be a temporary name) and `op` what was being done.
 */
export function fsErrorMessage(err: unknown, path?: string, op?: string): string | undefined {
  const e = err as (NodeJS.ErrnoException & { detail?: string }) | null;
  if (typeof e?.code !== 'string' || e.syscall === undefined) return undefined;
  const doing = op ?? FS_OPS[e.syscall];
  const reason = e.code === 'ENOENT' && doing === undefined ? 'no such file' : FS_REASONS[e.code];
  if (reason === undefined) return undefined;
  // ensureDir says which component failed.
  return `${path ?? e.path ?? `(${e.syscall})`}: ${doing ?? ''}${reason}${e.detail ? ` (${e.detail})` : ''}`;
}

/** Runs fn, turning user-facing library errors (and any error while reading the config) into CliErrors. */
export async function asUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (USER_ERRORS.some((C) => e instanceof C)) throw new CliError((e as Error).message);
    const fs = fsErrorMessage(e);
    if (fs !== undefined) throw new CliError(fs);
    throw e;
  }
}

/**
 * An input data file checked before any work: Node's read errors on a directory carry no path
 * ("EISDIR: illegal operation on a directory, read"), so the file is named here.
 */
export function checkInputFile(file: string): void {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new CliError(fsErrorMessage(e, file) ?? `${file}: cannot read (${(e as Error).message})`);
  }
  if (st.isDirectory()) throw new CliError(`${file}: is a directory, expected a data file`);
}

/**
 * An output file checked before any work (a long scoring run should not end on a typo): its
 * directory must exist and be writable, and the path must not be a directory.
 */
export function checkOutputFile(file: string): void {
  const abs = resolve(file);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new CliError(`${file}: is a directory, expected an output file name`);
  const dir = dirname(abs);
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${file}: its directory ${dir} does not exist` : fsErrorMessage(e, file) ?? `${file}: cannot write (${(e as Error).message})`);
  }
  if (!st.isDirectory()) throw new CliError(`${file}: cannot write: ${dir} is a file, not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CliError(`${file}: cannot write: permission denied in ${dir}`);
  }
}

/** Config validation (zod-based parsers throw plain Errors naming file and key): always the user's. */
export async function loadingConfig<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const fs = fsErrorMessage(e);
    if (fs !== undefined) throw new CliError(fs);
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)) throw new CliError(e.message);
    throw e;
  }
}
