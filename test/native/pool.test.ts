/**
 * The native thread pool under concurrent callers, task exceptions and restricted CPU sets.
 * Concurrency and affinity run in child processes: a broken pool crashes or hangs the process
 * that calls it, which must not take the test runner down with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from '../../src/backend/native.js';
import { loadNativeKernels } from '../../src/backend/native.js';
import { bitsEqual, native, randF32, rng, skip } from './setup.js';

const CHILD_TIMEOUT_MS = 60_000;

test('main thread and two worker_threads calling kernels at once get the serial results', { skip }, () => {
  const script = fileURLToPath(new URL('./poolHammer.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, 'run'], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `child killed by ${r.signal} (crash, or hang past ${CHILD_TIMEOUT_MS} ms); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { calls: number[]; mismatches: string[] };
  assert.deepEqual(out.mismatches, []);
  assert.ok(out.calls.every((c) => c > 0), `every thread made calls: ${out.calls.join(', ')}`);
});

interface PoolHooks {
  _testThrowInPool(ntasks: number, onWorker: boolean): void;
  _testCgroupCpuLimit(root: string): number;
}

function hooks(): PoolHooks {
  return loadNativeKernels().addon as NativeAddon & PoolHooks;
}

test('an exception in a pool task reaches JS as an Error and the pool stays usable', { skip }, () => {
  const K = native(), before = K.getThreads();
  const x = randF32(rng(3), 300_000), ref = new Float32Array(x.length), y = new Float32Array(x.length);
  try {
    K.setThreads(1);
    K.unary('tanh', x, ref, x.length, 0);
    for (const threads of [2, 1]) {
      K.setThreads(threads);
      // With one thread every task runs on the caller, so only the caller can throw.
      for (const onWorker of threads > 1 ? [true, false] : [false]) {
        for (let i = 0; i < 5; i++) {
          const where = onWorker ? 'a pool worker' : 'the calling thread';
          assert.throws(() => hooks()._testThrowInPool(8, onWorker), (e: unknown) =>
            e instanceof Error && new RegExp(`^task \\d+ failed on ${where}$`).test(e.message));
          y.fill(0);
          K.unary('tanh', x, y, x.length, 0);
          assert.ok(bitsEqual(y, ref), `kernel after a failed job (threads=${threads}, onWorker=${onWorker})`);
        }
      }
    }
  } finally {
    K.setThreads(before);
  }
});

test('the default thread count follows the CPU affinity (taskset -c 0 -> 1 thread)', {
  skip: skip || (process.platform !== 'linux' ? 'taskset is Linux-only' : false),
}, (t) => {
  const which = spawnSync('taskset', ['-c', '0', 'true']);
  if (which.error || which.status !== 0) return t.skip('taskset -c 0 is not available here');
  const backendUrl = new URL('../../src/backend/native.js', import.meta.url).href;
  const code = `const { loadNativeKernels } = await import(${JSON.stringify(backendUrl)});
    process.stdout.write(String(loadNativeKernels().kernels.getThreads()));`;
  const r = spawnSync('taskset', ['-c', '0', process.execPath, '--input-type=module', '-e', code],
    { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1');
});

test('cgroup CPU quota: v2 cpu.max and v1 cfs quota, the smallest over the ancestors', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ctrkit-cgroup-'));
  const put = (rel: string, text: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const limit = (): number => hooks()._testCgroupCpuLimit(root);
  try {
    assert.equal(limit(), 0, 'no /proc/self/cgroup: no quota');
    put('proc/self/cgroup', '0::/app/job\n');
    put('sys/fs/cgroup/app/job/cpu.max', 'max 100000\n');
    assert.equal(limit(), 0, 'unlimited');
    put('sys/fs/cgroup/app/cpu.max', '250000 100000\n');
    assert.equal(limit(), 3, 'a parent quota applies, rounded up');
    put('sys/fs/cgroup/app/job/cpu.max', '50000 100000\n');
    assert.equal(limit(), 1, 'half a CPU still gets one thread');

    // v1 inside a container: the host path in /proc/self/cgroup does not exist under the
    // container's mount, whose root is the container's own cgroup.
    put('proc/self/cgroup', '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n');
    put('sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us', '-1\n');
    put('sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us', '100000\n');
    assert.equal(limit(), 0, 'v1 without a quota');
    put('sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us', '400000\n');
    assert.equal(limit(), 4);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
