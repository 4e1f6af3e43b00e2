/**
 * Native GEMM under the blocking chosen from CPUID and under forced blockings: agreement with the
 * float64 reference on odd shapes (several K blocks, partial tiles, every transpose), 1 vs 2
 * threads bit for bit, and the claim the blocking rests on — only kc changes the bits, the tile
 * shape, MC and the pack caps never do. Also the CPUID object the blocking is derived from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNativeKernels, type GemmBlocking, type NativeAddon } from '../../src/backend/native.js';
import { referenceKernels as R } from '../../src/backend/reference/index.js';
import { assertClose } from '../helpers/close.js';
import { pickCandidate } from '../../bench/gemmTune.js';
import { bitsEqual, native, randF32, rng, skip } from './setup.js';

const nativeJs = fileURLToPath(new URL('../../src/backend/native.js', import.meta.url));

function addon(): NativeAddon {
  const a = loadNativeKernels().addon;
  if (!a?.cpuInfo || !a.gemmBlocking || !a.setGemmBlocking) throw new Error('addon lacks cpuInfo / gemmBlocking');
  return a;
}

/** Runs `fn` under blocking `b` (null: the default), restoring the default afterwards. */
function withBlocking<T>(b: Partial<GemmBlocking> | null, fn: () => T): T {
  addon().setGemmBlocking!(b);
  try {
    return fn();
  } finally {
    addon().setGemmBlocking!(null);
  }
}

function withThreads<T>(t: number, fn: () => T): T {
  const before = native().getThreads();
  native().setThreads(t);
  try {
    return fn();
  } finally {
    native().setThreads(before);
  }
}

test('cpuInfo: vendor, family/model, ISA, caches and FMA units are present and sane', { skip }, () => {
  const c = addon().cpuInfo!();
  for (const k of ['vendor', 'brand', 'uarch', 'fmaDatapath'] as const) assert.equal(typeof c[k], 'string', k);
  if (process.arch !== 'x64') return;
  assert.match(c.vendor, /^[\x20-\x7e]{12}$/);
  assert.ok(c.family >= 6 && c.model >= 0 && c.stepping >= 0 && c.stepping <= 15, JSON.stringify(c));
  const { l1d, l2, l3, line, l3PerCore } = c.cache;
  assert.ok(l1d >= 16 << 10 && l1d <= 1 << 20, `L1d ${l1d}`);
  assert.ok(l2 > l1d && l2 <= 64 << 20, `L2 ${l2}`);
  assert.ok(l3 === 0 || l3 > l2, `L3 ${l3}`);
  assert.ok(l3PerCore >= 0 && l3PerCore <= Math.max(l3, 0), `L3 per core ${l3PerCore}`);
  assert.ok([32, 64, 128].includes(line), `line ${line}`);
  assert.ok(c.cache.source.length > 0);
  // The FMA-unit table agrees with the ISA bits, and the GEMM family with both.
  assert.ok([-1, 0, 1, 2].includes(c.fma512Units));
  assert.equal(c.fma512Units === 0, !c.isa.avx512f);
  const avx512 = c.isa.avx512f && c.isa.avx512bw && c.isa.avx512vl && c.isa.avx512dq;
  if (!process.env.CTRKIT_GEMM_KERNEL) assert.equal(addon().kernelName(), avx512 ? 'avx512' : c.isa.avx2 && c.isa.fma ? 'avx2' : 'portable');
});

test('default blocking follows the documented rule from the cache sizes', { skip }, () => {
  const c = addon().cpuInfo!();
  const d = addon().gemmBlocking!(true);
  const now = addon().gemmBlocking!();
  if (now.source === d.source) assert.deepEqual(now, d); // else a tuned file or CTRKIT_GEMM_BLOCKING
  // KC: largest power of two in [128, 1024] with KC x 64 floats <= L2 / 4.
  let kc = 1024;
  while (kc > 128 && kc * 256 > c.cache.l2 / 4) kc /= 2;
  assert.equal(d.kc, kc);
  assert.match(d.kernel, new RegExp(`^${addon().kernelName()}-\\d+x\\d+$`));
  const mr = Number(/-(\d+)x/.exec(d.kernel)![1]);
  assert.ok(d.mc >= mr && d.mc * d.kc * 4 <= c.cache.l2 / 2 + mr * d.kc * 4, `mc ${d.mc}`);
  assert.equal(d.packB, Math.max(1 << 20, Math.floor(c.cache.l3PerCore / 4)));
  assert.equal(d.packA, 2 * d.packB);
  assert.match(d.source, /^(rule|table \(.+\))$/);
});

interface Shape { ta: boolean; tb: boolean; M: number; N: number; K: number; alpha: number; beta: number }

// Odd sizes: partial MR/NR tiles, K split into several blocks by every kc below, beta != 0.
const SHAPES: Shape[] = [
  { ta: false, tb: false, M: 97, N: 83, K: 2100, alpha: 1, beta: 0 },
  { ta: false, tb: true, M: 61, N: 131, K: 1500, alpha: 0.5, beta: -1 },
  { ta: true, tb: false, M: 45, N: 70, K: 3001, alpha: 1, beta: 1 },
  { ta: true, tb: true, M: 29, N: 17, K: 333, alpha: 2, beta: 0.25 },
];

function run(s: Shape, seed: number, K = native()): Float32Array {
  const r = rng(seed);
  const A = randF32(r, s.M * s.K, -1, 1), B = randF32(r, s.K * s.N, -1, 1), C = randF32(r, s.M * s.N, -1, 1);
  K.gemm(s.ta, s.tb, s.M, s.N, s.K, s.alpha, A, B, s.beta, C);
  return C;
}

function kernels(): string[] {
  const name = addon().kernelName();
  return name === 'avx512' ? ['avx512-6x64', 'avx512-14x32', 'avx2-6x16', 'avx2-4x24']
    : name === 'avx2' ? ['avx2-6x16', 'avx2-4x24'] : [addon().gemmBlocking!(true).kernel];
}

test('forced blockings agree with the reference; 1 and 2 threads give the same bits', { skip }, () => {
  const refs = SHAPES.map((s, i) => run(s, 10 + i, R));
  const blockings: Partial<GemmBlocking>[] = [{}];
  for (const kernel of kernels())
    for (const [kc, mc] of [[64, 6], [257, 13], [1024, 120]] as const) blockings.push({ kernel, kc, mc });
  blockings.push({ kc: 200, packA: 200 * 40, packB: 200 * 40 }); // many M and N blocks
  for (const b of blockings) {
    withBlocking(b, () => SHAPES.forEach((s, i) => {
      const one = withThreads(1, () => run(s, 10 + i)), two = withThreads(2, () => run(s, 10 + i));
      const label = `${JSON.stringify(b)} ${JSON.stringify(s)}`;
      assert.ok(bitsEqual(one, two), `${label}: 1 and 2 threads differ`);
      assertClose(one, refs[i]!, 3e-5 * Math.sqrt(s.K) * Math.abs(s.alpha), 1e-5, label);
    }));
  }
});

test('only kc changes the bits: tile shape, MC and pack caps do not', { skip }, () => {
  for (const kc of [96, 1024]) {
    const base = withBlocking({ kc }, () => SHAPES.map((s, i) => run(s, 20 + i)));
    for (const kernel of kernels())
      for (const mc of [6, 50, 240]) {
        const b = { kernel, kc, mc, packA: kc * 48, packB: kc * 64 };
        withBlocking(b, () => SHAPES.forEach((s, i) =>
          assert.ok(bitsEqual(run(s, 20 + i), base[i]!), `${JSON.stringify(b)} ${JSON.stringify(s)}: bits differ from kc=${kc} default`)));
      }
  }
});

test('fused layers under a forced blocking: same bits as under the default when kc agrees', { skip }, () => {
  const M = 77, K = 1100, N = 45, r = rng(3);
  const X = randF32(r, M * K), W = randF32(r, K * N), b = randF32(r, N), x0 = randF32(r, M * K), xs = randF32(r, M * K);
  const W2 = randF32(r, K * K);
  const layer = (): Float32Array[] => {
    const Y = new Float32Array(M * N), out = new Float32Array(M * K), z = new Float32Array(M * K);
    native().linearForward(X, W, b, Y, M, K, N, 'relu', 0);
    native().crossForward(X, W2, null, x0, xs, out, z, M, K, K);
    return [Y, out, z];
  };
  const kc = addon().gemmBlocking!(true).kc;
  const base = layer();
  for (const kernel of kernels()) {
    const got = withBlocking({ kernel, mc: 18 }, layer);
    got.forEach((v, i) => assert.ok(bitsEqual(v, base[i]!), `${kernel} output #${i} (kc ${kc})`));
  }
  const Yref = new Float32Array(M * N);
  R.linearForward(X, W, b, Yref, M, K, N, 'relu', 0);
  assertClose(base[0]!, Yref, 1e-4, 1e-4, 'linearForward vs reference');
});

test('setGemmBlocking refuses what it cannot run, with the reason', { skip }, () => {
  const a = addon();
  const start = a.gemmBlocking!();
  assert.throws(() => a.setGemmBlocking!({ kernel: 'avx9-1x1' }), /setGemmBlocking: unknown GEMM kernel 'avx9-1x1' \(this build has .*portable-4x8\)/);
  assert.throws(() => a.setGemmBlocking!({ kc: 8 }), /setGemmBlocking: GEMM kc must be in \[16, 8192\], got 8/);
  assert.throws(() => a.setGemmBlocking!({ mc: 1.5 }), /setGemmBlocking: mc must be a positive integer/);
  assert.throws(() => a.setGemmBlocking!({ kc: 512, packA: 100 }), /packA and packB must hold at least one row of kc floats/);
  assert.deepEqual(a.gemmBlocking!(), start, 'a refused blocking leaves the one in use in place');
  const set = a.setGemmBlocking!({ kc: 300 });
  assert.deepEqual([set.kc, set.mc, set.kernel, set.source], [300, start.mc, start.kernel, 'set']);
  assert.deepEqual(a.setGemmBlocking!(null), start);
});

function childOut(script: string, env: Record<string, string>): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return { stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

function child(script: string, env: Record<string, string>): string {
  return childOut(script, env).stdout;
}

test('a tuned file in the cache directory sets the kernel and MC, never kc; CTRKIT_GEMM_TUNE=0 ignores it', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctrkit-tune-'));
  try {
    const file = child(`import { loadNativeKernels } from ${JSON.stringify(nativeJs)};
      console.log(loadNativeKernels().addon.gemmTuneFile());`, { XDG_CACHE_HOME: dir });
    assert.ok(file.startsWith(join(dir, 'ctrkit', 'gemm-')) && file.endsWith('.json'), file);
    const show = `import { loadNativeKernels } from ${JSON.stringify(nativeJs)};
      console.log(JSON.stringify(loadNativeKernels().addon.gemmBlocking()));`;
    const read = (env: Record<string, string> = {}): GemmBlocking => JSON.parse(child(show, { XDG_CACHE_HOME: dir, ...env })) as GemmBlocking;
    const d = addon().gemmBlocking!(true);
    assert.deepEqual(read({ CTRKIT_GEMM_BLOCKING: '' }), d, 'no file: the default');
    const other = kernels().find((k) => k !== d.kernel) ?? d.kernel;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ kernel: other, mc: 42, kc: 64 }));
    const t = read({ CTRKIT_GEMM_BLOCKING: '' });
    assert.deepEqual([t.kernel, t.mc, t.kc, t.source], [other, 42, d.kc, `tuned (${file})`]);
    assert.deepEqual(read({ CTRKIT_GEMM_BLOCKING: '', CTRKIT_GEMM_TUNE: '0' }), d);
    assert.equal(read({ CTRKIT_GEMM_BLOCKING: 'mc=7' }).mc, 7, 'the environment overrides the tuned file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a malformed tuning cache is reported in one line naming the file and the fault, and the defaults kept', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctrkit-tune-'));
  try {
    const show = `import { loadNativeKernels } from ${JSON.stringify(nativeJs)};
      const a = loadNativeKernels().addon;
      console.log(JSON.stringify({ file: a.gemmTuneFile(), blocking: a.gemmBlocking() }));`;
    const run = (text: string | null, env: Record<string, string> = {}) => {
      const first = JSON.parse(child(show, { XDG_CACHE_HOME: dir, CTRKIT_GEMM_TUNE: '0' })) as { file: string };
      mkdirSync(dirname(first.file), { recursive: true });
      if (text !== null) writeFileSync(first.file, text);
      const r = childOut(show, { XDG_CACHE_HOME: dir, CTRKIT_GEMM_BLOCKING: '', ...env });
      return { ...(JSON.parse(r.stdout) as { file: string; blocking: GemmBlocking }), stderr: r.stderr };
    };
    const d = addon().gemmBlocking!(true);
    // What bench/gemmTune.ts writes.
    const good = run(JSON.stringify({ kernel: d.kernel, mc: 42, kc: 64, cpu: 'AMD EPYC 9B45 {mc}', gflops_geomean: 101.5,
      default_gflops_geomean: 99.1, tuned_at: '2026-12-02T08:00:00.000Z' }) + '\n');
    assert.equal(good.stderr, '', 'a good file is used silently');
    assert.equal(good.blocking.mc, 42);
    const cases: [string, RegExp][] = [
      ['{"kernel":"' + d.kernel + '","mc":4', /not a JSON object \(empty or cut short\?\)/],
      ['', /not a JSON object/],
      [JSON.stringify({ mc: 42 }), /no "kernel" field/],
      [JSON.stringify({ kernel: d.kernel }), /no "mc" field/],
      [JSON.stringify({ kernel: d.kernel, mc: '4x' }), /"mc" must be an integer in \[1, 4096\], got '4x'/],
      [JSON.stringify({ kernel: d.kernel, mc: 0 }), /"mc" must be an integer in \[1, 4096\], got '0'/],
      [JSON.stringify({ kernel: 'avx9-1x1', mc: 42 }), /unknown GEMM kernel 'avx9-1x1' \(this build has .*portable-4x8\)/],
      [' '.repeat(5000), /over 4 KiB/],
    ];
    for (const [text, why] of cases) {
      const r = run(text);
      assert.deepEqual(r.blocking, d, `${JSON.stringify(text.slice(0, 40))}: the defaults`);
      const lines = r.stderr.split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.startsWith(`ctrkit: warning: ignoring the GEMM tuning cache ${r.file}: `), r.stderr);
      assert.match(lines[0]!, why);
      assert.match(lines[0]!, /; using the CPUID defaults \(rerun `npm run bench -- gemm-tune`, or delete the file\)$/);
    }
    assert.equal(run('{', { CTRKIT_GEMM_TUNE: '0' }).stderr, '', 'CTRKIT_GEMM_TUNE=0 does not read the file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CTRKIT_GEMM_BLOCKING overrides the default at first use; a bad value is a one-line error', { skip }, () => {
  const script = `import { loadNativeKernels } from ${JSON.stringify(nativeJs)};
    const a = loadNativeKernels().addon;
    try { a.gemm(false, false, 1, 2, 2, 1, new Float32Array(2), new Float32Array(4), 0, new Float32Array(2));
      console.log(JSON.stringify(a.gemmBlocking())); } catch (e) { console.log('ERR ' + e.message); }`;
  const go = (v: string): string => child(script, { CTRKIT_GEMM_BLOCKING: v });
  const b = JSON.parse(go('kc=300,mc=12')) as GemmBlocking;
  assert.deepEqual([b.kc, b.mc, b.source], [300, 12, 'CTRKIT_GEMM_BLOCKING']);
  assert.equal(go('kc=3x'), "ERR CTRKIT_GEMM_BLOCKING: kc must be an integer, got '3x'");
  assert.match(go('nc=3'), /^ERR CTRKIT_GEMM_BLOCKING: unknown key 'nc' in 'nc=3' \(kc, mc, packa, packb, kernel\)$/);
});

test('gemm-tune keeps the default unless a candidate wins every round and by 3 % in the median', () => {
  assert.equal(pickCandidate([[100, 100, 100], [104, 104, 104]], 0), 1);
  assert.equal(pickCandidate([[100, 100, 100], [102, 102, 102]], 0), 0, 'under the margin');
  assert.equal(pickCandidate([[100, 100, 100], [120, 99, 120]], 0), 0, 'lost one round');
  assert.equal(pickCandidate([[100, 100, 100], [110, 110, 110], [112, 130, 115]], 0), 2, 'best median among the winners');
  assert.equal(pickCandidate([[120, 120, 120], [100, 100, 100], [110, 110, 110]], 1), 0, 'the default need not be first');
});
