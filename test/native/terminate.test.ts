/**
 * A worker_thread stopped while it is inside a native call (worker.terminate(), or process.exit()
 * with the thread still scoring, as `ctrkit serve` does on SIGTERM with its scoring thread): the
 * call's napi requests fail from then on, and the error that makes must not escape as a C++
 * exception, which aborts the whole process ("terminate called after throwing an instance of
 * 'Napi::Error'"). Runs in a child process, which the abort would kill instead of the runner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../helpers/sharedData.js';
import { skip } from './setup.js';

const addonPath = join(packageRoot(), 'build', 'Release', 'ctrkit_native.node');

// The worker calls, back to back, a binding that coerces an argument (gemm's transpose flags:
// napi_coerce_to_bool, which fails once the environment stops) and one that refuses its
// arguments (a Napi::Error thrown on purpose, which then cannot be thrown into JS).
// (CommonJS: execArgv [] keeps the parent's --input-type=module from applying to it.)
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const a = require(workerData.addon);
const M = 24, A = new Float32Array(M * M).fill(0.5), C = new Float32Array(M * M);
parentPort.postMessage('busy');
for (;;) {
  a.gemm(false, true, M, M, M, 1, A, A, 0, C);
  try { a.gemm(false, false, M, M, M, 1, A, C.subarray(1), 0, C); } catch {}
}`;

function child(rounds: number, exitWhileBusy: boolean): ReturnType<typeof spawnSync> {
  const script = `
    import { Worker } from 'node:worker_threads';
    const busy = async () => {
      const w = new Worker(${JSON.stringify(WORKER)}, { eval: true, execArgv: [], workerData: { addon: ${JSON.stringify(addonPath)} } });
      await new Promise((r) => w.once('message', r));
      return w;
    };
    for (let i = 0; i < ${rounds}; i++) {
      const w = await busy();
      await new Promise((r) => setTimeout(r, i % 3));
      await w.terminate();
    }
    process.stdout.write('survived');
    if (${exitWhileBusy}) {
      await busy();
      process.exit(0);
    }`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
}

for (const [what, rounds, exitWhileBusy] of [['worker.terminate()', 12, false], ['process.exit()', 0, true]] as const) {
  test(`a worker_thread stopped by ${what} inside native calls does not abort the process`, { skip }, () => {
    const r = child(rounds, exitWhileBusy);
    assert.equal(r.signal, null, `child killed by ${r.signal}; stderr: ${r.stderr}`);
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    assert.doesNotMatch(String(r.stderr), /terminate called|Napi::Error/);
    assert.equal(r.stdout, 'survived');
  });
}
