/**
 * Runs an experiment grid: every cell × seed through runTraining, each in its own child process
 * (src/experiment/runWorker.ts), `parallel` at a time. A finished run's summary is written
 * atomically to <output>/runs/<cell>/seed<k>.json and a later invocation skips it, so an
 * interrupted experiment continues where it stopped. Results do not depend on `parallel`:
 * every run is a fresh process with its own seed, and the native kernels chunk work the same
 * way whatever their thread count (runs sharing the cores get 1 thread each).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cellConfig, cellRawConfig, expandGrid, runHash, type GridCell, type GridConfig } from './grid.js';
import { teacherModelHash } from './teacher.js';
import { readRunSummary, type RunSummary } from './runSummary.js';
import type { RunJob, WorkerReply } from './runWorker.js';

export interface ExperimentOptions {
  /** Overrides the grid file's parallel. */
  parallel?: number;
  /** One line per finished run (default: stderr); null for silence. */
  progress?: ((line: string) => void) | null;
  signal?: AbortSignal;
}

export interface RunFailure {
  cell: string;
  seed: number;
  message: string;
}

export interface ExperimentResult {
  cells: GridCell[];
  /** Every finished run (earlier ones included), in grid order: cell, then seed. */
  summaries: RunSummary[];
  /** Runs this invocation trained / found finished already. */
  ran: number;
  skipped: number;
  failed: RunFailure[];
  interrupted: boolean;
}

const WORKER = fileURLToPath(new URL('./runWorker.js', import.meta.url));

export function runDir(grid: GridConfig, cell: string, seed: number): string {
  return join(grid.output, 'runs', cell, `seed${seed}`);
}

export function summaryFile(grid: GridConfig, cell: string, seed: number): string {
  return join(grid.output, 'runs', cell, `seed${seed}.json`);
}

function fmt(v: number | null | undefined): string {
  return typeof v === 'number' ? v.toFixed(4) : 'n/a';
}

/** Runs one job in a child process; aborting forwards to the child, which stops at a batch boundary. */
function runChild(job: RunJob, signal?: AbortSignal): Promise<WorkerReply> {
  return new Promise((resolveReply) => {
    const child = fork(WORKER, ['--ctrkit-run-worker'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let reply: WorkerReply | null = null;
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    child.on('message', (m) => { reply = m as WorkerReply; });
    const onAbort = (): void => { if (child.connected) child.send({ type: 'abort' }); };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('exit', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      resolveReply(reply ?? {
        type: 'failed', interrupted: signal?.aborted ?? false,
        message: `worker exited (${sig ?? `code ${code}`}) without a result${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
      });
    });
    child.send(job);
  });
}

export async function runExperiment(grid: GridConfig, opts: ExperimentOptions = {}): Promise<ExperimentResult> {
  const progress = opts.progress === undefined ? (l: string) => process.stderr.write(`${l}\n`) : opts.progress;
  const parallel = opts.parallel ?? grid.parallel;
  if (!(Number.isInteger(parallel) && parallel >= 1)) throw new Error(`runExperiment: parallel must be a positive integer, got ${parallel}`);
  const cells = expandGrid(grid.axes);
  const total = cells.length * grid.seeds.length;
  const done = new Map<string, RunSummary>();
  const key = (cell: string, seed: number): string => `${cell}\u0000${seed}`;
  const jobs: RunJob[] = [];
  // Seed-major: every round runs each cell once, so a drift in the machine's load spreads over
  // all cells' rows/s (the report's Cost section) instead of favouring the cells that ran first.
  for (const seed of grid.seeds) {
    for (const cell of cells) {
      const raw = cellRawConfig(grid, cell, seed);
      // A teacher trained by an `after` grid exists by now: a retrained one makes its students stale.
      const hash = runHash(raw, seed, teacherModelHash(cellConfig(grid, cell, seed)));
      const file = summaryFile(grid, cell.name, seed);
      const prev = readRunSummary(file);
      if (prev && prev.hash === hash) {
        done.set(key(cell.name, seed), prev);
        continue;
      }
      jobs.push({
        type: 'run', cell: cell.name, seed, hash, overrides: cell.overrides.map(([k, v]) => [k, v]), raw,
        file: `${grid.base} [cell ${cell.name}]`, baseDir: grid.baseDir, runDir: runDir(grid, cell.name, seed), summaryFile: file,
        threads: parallel > 1 ? 1 : undefined,
      });
    }
  }
  const skipped = done.size;
  if (skipped > 0) progress?.(`ctrkit experiment: ${skipped} of ${total} runs finished earlier; ${jobs.length} to run`);

  const failed: RunFailure[] = [];
  let finished = skipped;
  let next = 0;
  let interrupted = false;
  let ran = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length && !opts.signal?.aborted) {
      const job = jobs[next++]!;
      const reply = await runChild(job, opts.signal);
      finished++;
      const head = `ctrkit experiment: [${finished}/${total}] ${job.cell} seed ${job.seed}`;
      if (reply.type === 'done') {
        done.set(key(job.cell, job.seed), reply.summary);
        ran++;
        const m = grid.metrics.map((k) => `${k} ${fmt(reply.summary.test[k])}`).join(', ');
        progress?.(`${head}: ${m} (${reply.summary.seconds.toFixed(1)} s)`);
      } else if (reply.interrupted) {
        interrupted = true;
        progress?.(`${head}: interrupted (re-run the experiment to continue it)`);
      } else {
        failed.push({ cell: job.cell, seed: job.seed, message: reply.message });
        progress?.(`${head}: FAILED: ${reply.message.split('\n')[0]}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, lane));
  interrupted ||= opts.signal?.aborted === true && next < jobs.length;

  const summaries: RunSummary[] = [];
  for (const c of cells) for (const s of grid.seeds) {
    const r = done.get(key(c.name, s));
    if (r) summaries.push(r);
  }
  return { cells, summaries, ran, skipped, failed, interrupted };
}
