/**
 * Shampoo: the float64 inverse 4th root, one and several steps against a direct float64
 * computation of the formulas (statistics, roots, AdaGrad grafting per block, Nesterov
 * momentum, weight decay), thread-count determinism, and exact resume through the Trainer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parameter } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { inverseRoot, symmetricEigen } from '../../src/optim/matrixRoot.js';
import { Shampoo, type ShampooOptions } from '../../src/optim/shampoo.js';
import { AdaGrad } from '../../src/optim/adagrad.js';
import { createOptimizer, parseOptimizerConfig } from '../../src/optim/registry.js';
import { DNN } from '../../src/models/dnn.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import { ShuffledBatches } from '../../src/data/batching.js';
import { Trainer } from '../../src/train/trainer.js';
import { FileCheckpointStore } from '../../src/io/checkpointStore.js';
import type { CheckpointStore } from '../../src/train/checkpoint.js';
import { idsDataset } from '../helpers/dataset.js';
import { assertClose, assertNear } from '../helpers/close.js';
import { testBackends, withBackend } from '../helpers/backends.js';

/** Row-major matrix product of float64 arrays. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) out[i * n + j]! += a[i * k + t]! * b[t * n + j]!;
  return out;
}

const transpose = (a: ArrayLike<number>, m: number, n: number): number[] =>
  Array.from({ length: m * n }, (_, idx) => a[(idx % m) * n + Math.floor(idx / m)]!);

/** (S + ε·λ_max·I)^(−1/4) of a symmetric 2×2 [[a, b], [b, c]] from its closed-form eigen decomposition. */
function root2(s: ArrayLike<number>, eps: number): number[] {
  const [a, b, , c] = [s[0]!, s[1]!, s[2]!, s[3]!];
  const mid = (a + c) / 2;
  const rad = Math.sqrt(((a - c) / 2) ** 2 + b * b);
  const lams = [mid + rad, mid - rad];
  const vecs = b === 0 ? (a >= c ? [[1, 0], [0, 1]] : [[0, 1], [1, 0]]) : lams.map((l) => {
    const v = [b, l - a];
    const nrm = Math.hypot(v[0]!, v[1]!);
    return [v[0]! / nrm, v[1]! / nrm];
  });
  const max = lams[0]!;
  const out = [0, 0, 0, 0];
  lams.forEach((l, k) => {
    const f = (Math.max(l, 0) + eps * max) ** -0.25;
    const v = vecs[k]!;
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) out[i * 2 + j]! += f * v[i]! * v[j]!;
  });
  return out;
}

interface RefOptions { lr: number; eps: number; matrixEps: number; momentum: number; nesterov: boolean; weightDecay: number; precondEvery: number; startStep: number }

/** Float64 Shampoo on a 2·R × 2·C weight with 2×2 blocks, straight from the formulas. */
function referenceShampoo(w0: number[], rows: number, cols: number, grads: number[][], o: RefOptions): number[] {
  const w = w0.slice();
  const acc = w.map(() => 0);
  const mom = w.map(() => 0);
  const blocks: { r0: number; c0: number; L: number[]; R: number[]; Lr: number[]; Rr: number[] }[] = [];
  for (let r0 = 0; r0 < rows; r0 += 2) for (let c0 = 0; c0 < cols; c0 += 2) blocks.push({ r0, c0, L: [0, 0, 0, 0], R: [0, 0, 0, 0], Lr: [], Rr: [] });
  grads.forEach((g0, s) => {
    const t = s + 1;
    const g = g0.map((v, i) => v + o.weightDecay * w[i]!);
    const dir = g.map((v, i) => {
      acc[i]! += v * v;
      return v / (Math.sqrt(acc[i]!) + o.eps);
    });
    for (const b of blocks) {
      const idx = [0, 1, 2, 3].map((q) => (b.r0 + (q >> 1)) * cols + b.c0 + (q & 1));
      const G = idx.map((i) => g[i]!);
      const ggT = matmul(G, transpose(G, 2, 2), 2, 2, 2);
      const gTg = matmul(transpose(G, 2, 2), G, 2, 2, 2);
      b.L = b.L.map((v, i) => v + ggT[i]!);
      b.R = b.R.map((v, i) => v + gTg[i]!);
      if (t < o.startStep) continue;
      if ((t - o.startStep) % o.precondEvery === 0) {
        b.Lr = root2(b.L, o.matrixEps);
        b.Rr = root2(b.R, o.matrixEps);
      }
      const D = matmul(matmul(b.Lr, G, 2, 2, 2), b.Rr, 2, 2, 2);
      const scale = Math.hypot(...idx.map((i) => dir[i]!)) / Math.hypot(...D);
      idx.forEach((i, q) => { dir[i] = D[q]! * scale; });
    }
    for (let i = 0; i < w.length; i++) {
      mom[i] = o.momentum * mom[i]! + dir[i]!;
      const u = o.momentum === 0 ? dir[i]! : o.nesterov ? dir[i]! + o.momentum * mom[i]! : mom[i]!;
      w[i]! -= o.lr * u;
    }
  });
  return w;
}

function gradients(n: number, steps: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: steps }, () => Array.from({ length: n }, () => Math.fround(rng.uniform() * 2 - 1)));
}

function runShampoo(w0: number[], shape: number[], grads: number[][], o: Partial<ShampooOptions> & { lr: number }): Float32Array {
  const p = new Parameter('w', Float32Array.from(w0), shape);
  const opt = new Shampoo([{ params: [p] }], o);
  for (const g of grads) {
    p.grad.set(g);
    opt.step();
  }
  return p.data;
}

describe('inverse 4th root (float64 eigendecomposition)', () => {
  it('decomposes symmetric matrices: orthonormal eigenvectors reconstruct A (indefinite, rank 1, repeated eigenvalues)', () => {
    const rng = new Rng(5);
    const n = 30;
    const B = Array.from({ length: n * n }, () => rng.uniform() - 0.5);
    const u = Array.from({ length: 40 }, () => rng.uniform() - 0.5);
    const cases: [string, number[], number][] = [
      ['indefinite', B.map((v, i) => v + B[(i % n) * n + Math.floor(i / n)]!), n],
      ['rank 1', matmul(u, u, 40, 1, 40), 40],
      ['identity plus zeros', Array.from({ length: 36 }, (_, i) => (i % 7 === 0 && i < 21 ? 1 : 0)), 6],
    ];
    for (const [what, A, m] of cases) {
      const { values, vectors: W } = symmetricEigen(A, m);
      const back = new Array<number>(m * m).fill(0);
      const gram = new Array<number>(m * m).fill(0);
      for (let k = 0; k < m; k++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < m; j++) {
            back[i * m + j]! += values[k]! * W[k * m + i]! * W[k * m + j]!;
            gram[i * m + j]! += W[i * m + k]! * W[j * m + k]!;
          }
        }
      }
      assertClose(back, A, 1e-12, 0, `${what}: reconstruction`);
      assertClose(gram, Array.from({ length: m * m }, (_, i) => (i % (m + 1) === 0 ? 1 : 0)), 1e-12, 0, `${what}: orthonormality`);
    }
  });

  it('diagonal matrices give the reciprocal 4th roots of the entries', () => {
    const r = inverseRoot([16, 0, 0, 0, 81, 0, 0, 0, 1], 3, 4, 1e-15);
    assertClose(r, [0.5, 0, 0, 0, 1 / 3, 0, 0, 0, 1], 1e-12, 1e-12);
  });

  it('a 2×2 with a known eigen decomposition: [[2,1],[1,2]] has 3 on (1,1)/√2 and 1 on (1,−1)/√2', () => {
    const e = symmetricEigen([2, 1, 1, 2], 2);
    assert.deepEqual(Array.from(e.values).map((v) => Math.round(v * 1e12) / 1e12).sort(), [1, 3]);
    const q = 3 ** -0.25;
    assertClose(inverseRoot([2, 1, 1, 2], 2, 4, 1e-15), [(q + 1) / 2, (q - 1) / 2, (q - 1) / 2, (q + 1) / 2], 1e-12, 1e-12);
  });

  it('A^(−1/4) applied four times to A gives the identity (random SPD 7×7)', () => {
    const n = 7;
    const rng = new Rng(3);
    const B = Array.from({ length: n * n }, () => rng.uniform() - 0.5);
    const A = matmul(B, transpose(B, n, n), n, n, n).map((v, i) => v + (i % (n + 1) === 0 ? 0.1 : 0));
    const r = inverseRoot(A, n, 4, 1e-15);
    let x = A;
    for (let k = 0; k < 4; k++) x = matmul(r, x, n, n, n);
    assertClose(x, Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), 1e-9, 0);
  });

  it('damps relative to the largest eigenvalue, and an all-zero matrix gives the identity', () => {
    assertClose(inverseRoot([1, 0, 0, 0], 2, 4, 1e-4), [(1 + 1e-4) ** -0.25, 0, 0, 10], 1e-12, 1e-10);
    assertClose(inverseRoot([100, 0, 0, 0], 2, 4, 1e-4), [(100 + 1e-2) ** -0.25, 0, 0, 1e-2 ** -0.25], 1e-12, 1e-10);
    assert.deepEqual(Array.from(inverseRoot([0, 0, 0, 0], 2, 4, 1e-6)), [1, 0, 0, 1]);
    assert.throws(() => inverseRoot([1, NaN, NaN, 1], 2, 4, 1e-6), /non-finite entry at \(0, 1\)/);
  });
});

const O: RefOptions = { lr: 0.1, eps: 1e-10, matrixEps: 1e-6, momentum: 0, nesterov: true, weightDecay: 0, precondEvery: 1, startStep: 1 };

for (const k of testBackends()) {
  describe(`Shampoo (${k.name})`, () => {
    it('one step on a 2×2 weight matches the float64 formulas', () => withBackend(k, () => {
      const w0 = [0.5, -0.25, 1, 0.75];
      const g = [[0.3, -0.2, 0.1, 0.4]];
      const got = runShampoo(w0, [2, 2], g, { lr: O.lr, blockSize: 2 });
      assertClose(got, referenceShampoo(w0, 2, 2, g, O), 1e-6, 1e-5);
      // Not the AdaGrad step (which moves every weight by lr here): Shampoo changed the direction.
      assert.ok(got.some((v, i) => Math.abs(Math.abs(v - w0[i]!) - O.lr) > 1e-3));
    }));

    it('blocked 4×6 weight over 4 steps with Nesterov momentum, weight decay, stale roots and a start step', () => withBackend(k, () => {
      const w0 = Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i)));
      const g = gradients(24, 5, 7);
      const o = { ...O, momentum: 0.9, weightDecay: 0.01, precondEvery: 2, startStep: 2 };
      const got = runShampoo(w0, [4, 6], g, { ...o, blockSize: 2 });
      assertClose(got, referenceShampoo(w0, 4, 6, g, o), 1e-5, 1e-4);
      const heavyBall = { ...o, nesterov: false };
      assertClose(runShampoo(w0, [4, 6], g, { ...heavyBall, blockSize: 2 }), referenceShampoo(w0, 4, 6, g, heavyBall), 1e-5, 1e-4);
    }));

    it("grafting: each block's step has the norm of that block's AdaGrad step", () => withBackend(k, () => {
      const w0 = Array.from({ length: 35 }, (_, i) => Math.fround(Math.cos(i)));
      const g = gradients(35, 3, 9);
      const shampoo = runShampoo(w0, [5, 7], g, { lr: 0.1, blockSize: 4 });
      const p = new Parameter('w', Float32Array.from(w0), [5, 7]);
      const ada = new AdaGrad([{ params: [p] }], { lr: 0.1 });
      const steps: Float32Array[] = [];
      for (const gi of g) {
        p.grad.set(gi);
        const prev = p.data.slice();
        ada.step();
        steps.push(p.data.map((v, i) => v - prev[i]!));
      }
      // Per step and block, from a Shampoo run of 1..3 steps.
      for (let s = 1; s <= 3; s++) {
        const a = runShampoo(w0, [5, 7], g.slice(0, s - 1), { lr: 0.1, blockSize: 4 });
        const b = runShampoo(w0, [5, 7], g.slice(0, s), { lr: 0.1, blockSize: 4 });
        for (const [r0, c0] of [[0, 0], [0, 4], [4, 0], [4, 4]]) {
          const norm = (d: (i: number) => number): number => {
            let sum = 0;
            for (let r = r0; r < Math.min(r0 + 4, 5); r++) for (let c = c0; c < Math.min(c0 + 4, 7); c++) sum += d(r * 7 + c) ** 2;
            return Math.sqrt(sum);
          };
          assertNear(norm((i) => b[i]! - a[i]!), norm((i) => steps[s - 1]![i]!), 1e-6, 1e-3, `step ${s} block ${r0},${c0}`);
        }
      }
      // Same step sizes, other directions.
      assert.notDeepEqual(Array.from(shampoo), Array.from(p.data));
    }));

    it('vectors and steps before startStep take the AdaGrad step; momentum follows its formula', () => withBackend(k, () => {
      const g = gradients(3, 4, 4);
      const bias = runShampoo([0.1, 0.2, 0.3], [3], g, { lr: 0.05, momentum: 0.8 });
      const col = runShampoo([0.1, 0.2, 0.3], [3, 1], g, { lr: 0.05, momentum: 0.8 });
      const late = runShampoo([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3], g.map((x) => [...x, ...x]), { lr: 0.05, momentum: 0.8, startStep: 5 });
      const w = [0.1, 0.2, 0.3];
      const acc = [0, 0, 0];
      const m = [0, 0, 0];
      for (const gi of g) {
        for (let i = 0; i < 3; i++) {
          acc[i]! += gi[i]! ** 2;
          const d = gi[i]! / (Math.sqrt(acc[i]!) + 1e-10);
          m[i] = 0.8 * m[i]! + d;
          w[i]! -= 0.05 * (d + 0.8 * m[i]!);
        }
      }
      assertClose(bias, w, 1e-6, 1e-5);
      assertClose(col, w, 1e-6, 1e-5);
      assertClose(late.subarray(0, 3), w, 1e-6, 1e-5);
    }));

    it('non-finite statistics name the parameter and block', () => withBackend(k, () => {
      const g = gradients(12, 1, 1);
      g[0]![7] = Infinity;
      assert.throws(() => runShampoo(new Array(12).fill(0.1), [3, 4], g, { lr: 0.1, blockSize: 2 }),
        /^Error: Shampoo: statistics L of parameter 'w' \[3×4\] rows 0…, columns 2…: symmetricEigen: non-finite entry/);
    }));

    it('one block covering the whole matrix equals the unblocked update', () => withBackend(k, () => {
      const w0 = Array.from({ length: 35 }, (_, i) => Math.fround(Math.cos(i)));
      const g = gradients(35, 3, 2);
      const whole = runShampoo(w0, [5, 7], g, { lr: 0.1, blockSize: 7, momentum: 0.9 });
      assert.deepEqual(Array.from(whole), Array.from(runShampoo(w0, [5, 7], g, { lr: 0.1, blockSize: 128, momentum: 0.9 })));
      assert.notDeepEqual(Array.from(whole), Array.from(runShampoo(w0, [5, 7], g, { lr: 0.1, blockSize: 3, momentum: 0.9 })));
    }));

    it('embedding tables take row-wise sparse AdaGrad', () => withBackend(k, () => {
      const model = new DNN({ numIds: 20, numFields: 2, dim: 3, hidden: [4], initStd: 0.1, seed: 1, dropout: 0 });
      const opt = createOptimizer(parseOptimizerConfig({ type: 'shampoo', lr: 0.1 }), model);
      assert.ok(opt instanceof Shampoo);
      opt.step();
      const t = model.tables()[0]!;
      assert.equal(opt.saveState().buffers.get('1.t0.acc'), undefined, 'untouched table: no state');
      t.data.fill(1);
      // A row-wise accumulator has one value per row (not per element).
      t.addPending({ ids: Int32Array.from([3]), n: 1, dOut: Float32Array.from([0.3, 0.6, 0.9]), offsets: null, weights: null, mean: false });
      opt.step();
      assert.equal(opt.saveState().buffers.get('1.t0.acc')!.length, t.numRows);
      const accRow = (0.09 + 0.36 + 0.81) / 3;
      assertClose(t.data.subarray(9, 12), [0.3, 0.6, 0.9].map((g) => 1 - (0.1 * g) / (Math.sqrt(accRow) + 1e-10)), 1e-6, 1e-5);
      assertClose(t.data.subarray(0, 9), new Array(9).fill(1));
    }));
  });
}

describe('Shampoo determinism and resume', () => {
  const native = testBackends().find((k) => k.name === 'native');
  it('bit-identical with 1 and 2 threads (blocked 300×200 weight)', { skip: !native && 'native addon not built' }, () => withBackend(native!, () => {
    const w0 = Array.from({ length: 300 * 200 }, (_, i) => Math.fround(Math.sin(i * 0.37)));
    const g = gradients(300 * 200, 3, 5);
    const before = native!.getThreads();
    const run = (threads: number): Float32Array => {
      native!.setThreads(threads);
      return runShampoo(w0, [300, 200], g, { lr: 0.01, blockSize: 128, momentum: 0.9, precondEvery: 2 });
    };
    try {
      assert.deepEqual(Array.from(run(1)), Array.from(run(2)));
    } finally {
      native!.setThreads(before);
    }
  }));

  it('a run resumed from a mid-epoch checkpoint on disk is bit-identical to a straight run', async () => {
    const F = 3;
    const rng = new Rng(8);
    const n = 160;
    const ids = Int32Array.from({ length: n * F }, (_, i) => (i % F) * 10 + rng.int(10));
    const labels = Float32Array.from({ length: n }, (_, r) => (ids[r * F]! % 10 < 4 ? 1 : 0));
    const ds = idsDataset(ids, labels, F, 30);
    const hash = (m: CTRModel): string => {
      const h = createHash('sha256');
      for (const [name, a] of m.stateDict()) h.update(name).update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return h.digest('hex');
    };
    const make = (store: CheckpointStore, resume: boolean, crashAt = 0): { t: Trainer; model: CTRModel } => {
      const model: CTRModel = new DNN({ numIds: 30, numFields: F, dim: 4, hidden: [12, 6], initStd: 0.1, seed: 1, dropout: 0 });
      const optimizer = createOptimizer(parseOptimizerConfig({
        type: 'shampoo', lr: 0.05, momentum: 0.9, blockSize: 8, precondEvery: 3, startStep: 2, weightDecay: 1e-4,
      }), model);
      let calls = 0;
      const t = new Trainer({
        model, optimizer, train: new ShuffledBatches(ds, { start: 0, end: n }, 16), epochs: 2, seed: 3,
        checkpoints: { store, everySteps: 4, location: 'test' }, resume, restoreBest: false,
        afterStep: () => {
          if (++calls === crashAt) throw new Error('simulated crash');
        },
      });
      return { t, model };
    };
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-shampoo-'));
    try {
      const ref = make(new FileCheckpointStore(join(dir, 'a')), false);
      await ref.t.run();
      const store = new FileCheckpointStore(join(dir, 'b'));
      // Crash after step 7: the last checkpoint is step 4 (mid-epoch 1); roots were refreshed at
      // steps 2 and 5, so the resumed run must restore stale roots, statistics and momentum.
      await assert.rejects(make(store, false, 7).t.run(), /simulated crash/);
      assert.equal(store.load('last')!.trainer.globalStep, 4);
      const resumed = make(new FileCheckpointStore(join(dir, 'b')), true);
      const r = await resumed.t.run();
      assert.ok(r.resumed);
      assert.equal(hash(resumed.model), hash(ref.model));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
