import { cpus, loadavg } from 'node:os';
import { backend, setBackend } from '../src/backend/index.js';
import { loadNativeKernels } from '../src/backend/native.js';
import { cpuModel } from '../src/util/cpuModel.js';

/** Benchmark output: a readable table line per result, or one JSON object per line with --json. */
export class Reporter {
  constructor(readonly json: boolean) {}

  row(r: Record<string, string | number | boolean | null>): void {
    if (this.json) {
      process.stdout.write(JSON.stringify(r) + '\n');
    } else {
      process.stdout.write(Object.entries(r).map(([k, v]) => `${k}=${v}`).join('  ') + '\n');
    }
  }

  /** Progress and context: stderr, so --json stdout stays machine-readable. */
  note(msg: string): void {
    process.stderr.write(`# ${msg}\n`);
  }
}

export function hasFlag(argv: readonly string[], flag: string): boolean {
  return argv.includes(flag);
}

export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(flag + '='));
  return eq ? eq.slice(flag.length + 1) : undefined;
}

/**
 * Selects the native kernels (when built) with `threads` threads and notes the backend, the CPU
 * and the load average, which shared machines need next to any timing; returns the CPU in words.
 */
export function timingBackend(rep: Reporter, threads: number): string {
  const loaded = loadNativeKernels();
  if (loaded.kernels) setBackend(loaded.kernels);
  const k = backend();
  k.setThreads(threads);
  const cpu = `${cpuModel()} × ${cpus().length}`;
  rep.note(`backend ${k.name}, ${threads} threads, cpu ${cpu}, load average before ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  return cpu;
}

export { cpuModel } from '../src/util/cpuModel.js';
