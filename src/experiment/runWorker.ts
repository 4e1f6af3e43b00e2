/**
 * Child-process entry of `ctrkit experiment`: runs one cell × seed and writes its summary.
 * Each run gets a fresh process so that nothing (native thread pool, buffer pools, memory)
 * carries from one run to the next: a run's result depends on its config and seed only, not
 * on which runs shared a process or ran beside it.
 *
 * Protocol (IPC): the parent sends one RunJob, later perhaps { type: 'abort' }; the child
 * answers one WorkerReply and exits.
 */
import { existsSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseExperimentConfig } from './config.js';
import { runTraining } from './trainRun.js';
import { evaluationWeights, probabilities } from './evaluate.js';
import { predictRows } from '../train/predict.js';
import { reliabilityDiagram, UndefinedMetricError } from '../metrics/index.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { cpus, loadavg } from 'node:os';
import { backend } from '../backend/index.js';
import { cpuModel } from '../util/cpuModel.js';
import { probeSeries, trainRowsPerSec, type RunSummary } from './runSummary.js';

export interface RunJob {
  type: 'run';
  cell: string;
  seed: number;
  hash: string;
  overrides: [string, unknown][];
  /** The cell's raw config (base + overrides) and the name it goes by in messages. */
  raw: unknown;
  file: string;
  baseDir: string;
  /** Training output directory of this run and where its summary goes. */
  runDir: string;
  summaryFile: string;
  /** Native threads (1 when runs share the cores). */
  threads?: number;
}

export type WorkerReply =
  | { type: 'done'; summary: RunSummary }
  | { type: 'failed'; message: string; interrupted: boolean };

export async function executeJob(job: RunJob, signal?: AbortSignal): Promise<WorkerReply> {
  const cfg = parseExperimentConfig(job.raw, job.file, job.baseDir);
  // A run killed midway left checkpoints: continue them (the trainer resumes exactly) unless
  // they belong to another config.
  const stamp = join(job.runDir, 'run-hash');
  const resume = existsSync(join(job.runDir, 'checkpoints', 'last')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === job.hash;
  ensureDir(job.runDir);
  writeFileSync(stamp, job.hash);
  const r = await runTraining(cfg, { seed: job.seed, output: job.runDir, quiet: true, resume, threads: job.threads, signal });
  if (r.train.interrupted) return { type: 'failed', message: 'interrupted', interrupted: true };
  const loadAvg1m = loadavg()[0]!;
  let reliability: RunSummary['reliability'] = null;
  // The diagram of the first label on every test row: runs with train.tasks report per task in their own report.
  if (r.rows.test > 0 && cfg.train.tasks === undefined) {
    const p = probabilities(predictRows(r.model, r.dataset, r.split.test));
    const y = r.dataset.labels[0]!.subarray(r.split.test.start, r.split.test.end);
    if (y.every((v) => v === 0 || v === 1)) {
      try {
        const d = reliabilityDiagram(p, y, { weights: evaluationWeights(r.dataset, r.split.test, cfg.train.loss?.betaPos) });
        reliability = { bins: [...d.bins], ece: d.ece, rows: d.rows };
      } catch (e) {
        if (!(e instanceof UndefinedMetricError)) throw e;
      }
    }
  }
  const summary: RunSummary = {
    cell: job.cell, seed: job.seed, hash: job.hash, overrides: job.overrides,
    validation: r.validation, test: r.test, ...(r.testCalibrated && { testCalibrated: r.testCalibrated }),
    epochs: r.train.epochsRun, bestEpoch: r.train.best?.epoch ?? null,
    rows: { fit: r.rows.fit, validation: r.rows.validation, test: r.rows.test },
    seconds: Math.round(r.seconds * 100) / 100,
    reliability, probes: probeSeries(r.logFile),
    cost: {
      denseParams: r.model.parameters().reduce((n, p) => n + p.size, 0),
      trainRowsPerSec: trainRowsPerSec(r.logFile),
      loadAvg1m: Math.round(loadAvg1m * 100) / 100,
      cpu: `${cpuModel()} × ${cpus().length}`,
      threads: backend().getThreads(),
    },
  };
  ensureDir(dirname(job.summaryFile));
  writeFileAtomic(job.summaryFile, `${JSON.stringify(summary, null, 1)}\n`);
  // The model and log stay for inspection; checkpoints only served resuming this run (and its retraining, after a search).
  for (const dir of new Set([join(job.runDir, 'checkpoints'), r.checkpointsDir])) rmSync(dir, { recursive: true, force: true });
  return { type: 'done', summary };
}

function isJob(m: unknown): m is RunJob {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'run';
}

// Only when started as a child with an IPC channel: importing this module does nothing.
if (process.send && process.argv[2] === '--ctrkit-run-worker') {
  const abort = new AbortController();
  process.on('SIGINT', () => abort.abort());
  process.on('message', (m: unknown) => {
    if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'abort') {
      abort.abort();
      return;
    }
    if (!isJob(m)) return;
    executeJob(m, abort.signal)
      .catch((e: unknown): WorkerReply => ({ type: 'failed', message: e instanceof Error ? e.message : String(e), interrupted: false }))
      .then((reply) => process.send!(reply, () => process.disconnect()));
  });
}
