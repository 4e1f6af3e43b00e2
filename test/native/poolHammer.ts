/**
 * Child-process script for pool.test.ts: the main thread and two worker_threads (each loading
 * the same addon, hence sharing its static thread pool) call parallel kernels at once, one of
 * them also changing the thread count, and every result is compared bit for bit with the one
 * computed serially before any concurrency. It runs in its own process because a broken pool
 * crashes or hangs instead of failing an assertion. Prints one JSON line; does nothing unless
 * started with the argument `run` (so a test runner that picks up every file skips it).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Kernels } from '../../src/backend/kernels.js';
import { bitsEqual, native, randF32, rng } from './setup.js';

const HAMMER_MS = 1500;

interface Inputs { a: Float32Array; b: Float32Array; x: Float32Array; s: Float32Array }
interface Report { calls: number; mismatches: string[] }

function inputs(): Inputs {
  const r = rng(11);
  return { a: randF32(r, 64 * 128), b: randF32(r, 128 * 64), x: randF32(r, 65_537), s: randF32(r, 400 * 100) };
}

/** One round of kernels that each split into several pool tasks at these sizes. */
function round(K: Kernels, inp: Inputs): Float32Array[] {
  const c = new Float32Array(64 * 64);
  K.gemm(false, false, 64, 64, 128, 1, inp.a, inp.b, 0, c);
  const sum = new Float32Array(1);
  K.reduceSum(inp.x, 1, inp.x.length, 1, sum, 1);
  const t = new Float32Array(inp.x.length);
  K.unary('tanh', inp.x, t, inp.x.length, 0);
  const sm = new Float32Array(inp.s.length);
  K.softmax(inp.s, 400, 100, 1, sm, false);
  return [c, sum, t, sm];
}

function hammer(K: Kernels, expected: Float32Array[], label: string, changeThreads: boolean): Report {
  const inp = inputs();
  const mismatches: string[] = [];
  const end = Date.now() + HAMMER_MS;
  let calls = 0;
  while (Date.now() < end) {
    if (changeThreads && calls % 2 === 0) K.setThreads(2 + ((calls / 2) % 2));
    round(K, inp).forEach((v, i) => {
      if (!bitsEqual(v, expected[i]) && mismatches.length < 10) mismatches.push(`${label} round ${calls} result #${i}`);
    });
    calls++;
  }
  return { calls, mismatches };
}

function runWorker(expected: Float32Array[], label: string, changeThreads: boolean): Promise<Report> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { expected, label, changeThreads } });
    w.once('message', (m: Report) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`${label} exited with code ${code}`)); });
  });
}

async function main(): Promise<void> {
  const K = native();
  K.setThreads(1);
  const expected = round(K, inputs());
  K.setThreads(3);
  const workers = [runWorker(expected, 'worker 1', true), runWorker(expected, 'worker 2', true)];
  const own = hammer(K, expected, 'main', false);
  const all = [own, ...(await Promise.all(workers))];
  process.stdout.write(JSON.stringify({
    calls: all.map((r) => r.calls),
    mismatches: all.flatMap((r) => r.mismatches),
  }) + '\n');
}

if (isMainThread) {
  if (process.argv[2] === 'run') await main();
} else {
  const d = workerData as { expected: Float32Array[]; label: string; changeThreads: boolean };
  parentPort?.postMessage(hammer(native(), d.expected, d.label, d.changeThreads));
}
