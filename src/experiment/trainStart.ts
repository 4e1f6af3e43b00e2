/**
 * What a training run settles before it reads any data: the command's options applied to the
 * config, and the checks whose failure should cost nothing (a refused resume, a missing data
 * file, an output directory that cannot be created).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { backend } from '../backend/index.js';
import { ConfigError, dataSourceFiles } from '../schema/index.js';
import type { ModelConfig } from '../models/registry.js';
import { lossLogits } from '../losses/registry.js';
import { FileCheckpointStore } from '../io/checkpointStore.js';
import { ensureDir } from '../io/atomic.js';
import type { ExperimentConfig } from './config.js';
import { checkResumeConfig } from './resumeGuard.js';

export interface TrainRunOptions {
  /** Continue from the output directory's last checkpoint. */
  resume?: boolean;
  /** Resume even when the checkpoint was written under another config (implies resume). */
  forceResume?: boolean;
  /** No progress bar / epoch lines. */
  quiet?: boolean;
  /** Overrides the config's data.onBadLine. */
  onBadLine?: 'error' | 'skip';
  /** Overrides the config's seed (e.g. for seed sweeps). */
  seed?: number;
  /** Overrides the config's output directory. */
  output?: string;
  /** Overrides the config's train.threads (experiments run 1 per run when runs share cores). */
  threads?: number;
  signal?: AbortSignal;
  /** Cores taken as available to the process (default os.availableParallelism()): what train.online.readAhead 'auto' decides by. */
  cores?: number;
  /** Where progress lines and notes go (default stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The config as this run applies it. */
export interface RunSettings {
  output: string;
  seed: number;
  resume: boolean;
  onBadLine: 'error' | 'skip';
  modelConfig: ModelConfig;
  /** What the checkpoints record and a resume compares. */
  runConfig: { data: ExperimentConfig['data']; model: ModelConfig; train: ExperimentConfig['train'] };
  checkpointDir: string;
  checkpoints: FileCheckpointStore;
}

/**
 * The model section as trained and saved: a dnn / dcnv2 whose `logits` is unset gets the
 * two-logit head when the loss is JRC, so a loss grid can switch to JRC without a second axis.
 */
function resolveModelConfig(cfg: ExperimentConfig): ModelConfig {
  const m = cfg.model;
  const loss = cfg.train.loss;
  if (loss !== undefined && lossLogits(loss.type) === 2 && (m.type === 'dnn' || m.type === 'dcnv2') && m.logits === undefined) return { ...m, logits: 2 };
  return m;
}

/**
 * Every data file of the config must exist before anything else runs; a missing one is named, and
 * when its path goes through a `shared` folder (the examples read ../shared/data) the message says
 * where that folder is expected, since that is the usual cause.
 */
function checkDataSources(cfg: ExperimentConfig): void {
  for (const file of dataSourceFiles(cfg.data, cfg.baseDir)) {
    if (existsSync(file)) continue;
    const shared = /^(.*[\\/]shared)[\\/]/.exec(file);
    const hint = shared && !existsSync(shared[1]!)
      ? `; the shared data folder is expected at ${shared[1]}: run from the repository root (a config's paths are relative to the working directory) with the shared data folder beside the repository (CTRKIT_SHARED_DATA relocates it for the tests and benchmarks only)`
      : '';
    throw new ConfigError([`${cfg.file}: data file ${file} does not exist${hint}`]);
  }
}

/** Applies the options, sizes the thread pool and runs the cheap checks; creates the output directory. */
export function startRun(cfg: ExperimentConfig, opts: TrainRunOptions): RunSettings {
  const output = resolve(cfg.baseDir, opts.output ?? cfg.output);
  const seed = opts.seed ?? cfg.train.seed;
  const threads = opts.threads ?? cfg.train.threads;
  const resume = opts.resume === true || opts.forceResume === true;
  const onBadLine = opts.onBadLine ?? cfg.data.onBadLine;
  const modelConfig = resolveModelConfig(cfg);
  const runConfig = { data: { ...cfg.data, onBadLine }, model: modelConfig, train: { ...cfg.train, seed, threads } };
  const checkpointDir = join(output, 'checkpoints');
  const checkpoints = new FileCheckpointStore(checkpointDir);
  if (resume && !opts.forceResume) {
    // Before the data set is built: a refused resume should cost nothing.
    const saved = checkpoints.peek('last');
    if (saved) checkResumeConfig(saved.config, runConfig, saved.trainer, checkpoints.path('last'));
  }
  if (threads) backend().setThreads(threads);
  checkDataSources(cfg);
  // Before reading any data: an output directory that cannot be created should not cost a data pass.
  ensureDir(output);
  return { output, seed, resume, onBadLine, modelConfig, runConfig, checkpointDir, checkpoints };
}
