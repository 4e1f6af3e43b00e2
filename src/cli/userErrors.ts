/**
 * Which library errors are the user's to fix (bad config, bad data, a diverged run) and so
 * print as one line without a stack trace, rather than as an internal error.
 */
import { ConfigError } from '../schema/errors.js';
import { DataFormatError } from '../data/readers/errors.js';
import { NonFiniteWeightsError } from '../io/finite.js';
import { ModelFileError } from '../io/modelFile.js';
import { LossConfigError } from '../losses/registry.js';
import { NonFiniteTrainingError } from '../train/trainer.js';
import { CacheCorruptError } from '../data/cache/index.js';
import { ResumeConfigError } from '../experiment/resumeGuard.js';
import { CliError } from './errors.js';

const USER_ERRORS = [ModelFileError, ConfigError, DataFormatError, NonFiniteWeightsError, LossConfigError, NonFiniteTrainingError, CacheCorruptError, ResumeConfigError];

/** Runs fn, turning user-facing library errors (and any error while reading the config) into CliErrors. */
export async function asUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (USER_ERRORS.some((C) => e instanceof C)) throw new CliError((e as Error).message);
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new CliError((e as Error).message);
    throw e;
  }
}

/** Config validation (zod-based parsers throw plain Errors naming file and key): always the user's. */
export async function loadingConfig<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)) throw new CliError(e.message);
    throw e;
  }
}
