/**
 * Native vs reference agreement on random inputs: each case builds identical inputs for both
 * backends from a seed, runs the kernel, and compares every output / accumulated buffer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels, UnaryOp, BinaryOp } from '../../src/backend/kernels.js';
import { referenceKernels as R } from '../../src/backend/reference/index.js';
import { assertClose } from '../helpers/close.js';
import { bitsEqual, native, randF32, randI32, randOffsets, rng, skip } from './setup.js';

type Out = Float32Array | Int32Array | number;

/** Runs `run` on both backends with the same seed and compares the returned values. */
function agree(label: string, run: (K: Kernels, r: () => number) => Out[], atol = 1e-5, rtol = 1e-4, seed = 1): void {
  const a = run(native(), rng(seed));
  const e = run(R, rng(seed));
  assert.equal(a.length, e.length);
  a.forEach((v, i) => {
    const w = e[i];
    if (typeof v === 'number' || typeof w === 'number') assertClose([v as number], [w as number], atol, rtol, `${label} #${i}`);
    else assertClose(v, w, atol, rtol, `${label} #${i}`);
  });
}

const sizes = [0, 1, 7, 33, 1000, 70001];

test('unary / unaryBackward', { skip }, () => {
  const ops: UnaryOp[] = ['relu', 'sigmoid', 'tanh', 'softplus', 'smelu', 'exp', 'log', 'neg', 'abs', 'sqrt', 'square'];
  for (const op of ops) {
    for (const n of sizes) {
      const positive = op === 'log' || op === 'sqrt';
      agree(`${op} n=${n}`, (K, r) => {
        const x = randF32(r, n, positive ? 0.05 : -6, 6);
        const y = new Float32Array(n);
        K.unary(op, x, y, n, 0.7);
        const dy = randF32(r, n), dx = randF32(r, n);
        K.unaryBackward(op, x, y, dy, dx, n, 0.7);
        return [y, dx];
      }, 1e-5, 2e-4);
    }
  }
  agree('smelu beta=0', (K, r) => {
    const x = randF32(r, 100), y = new Float32Array(100);
    K.unary('smelu', x, y, 100, 0);
    return [y];
  });
});

test('binary / binaryBackward with broadcasting', { skip }, () => {
  const cases: [number[], number[], number[]][] = [
    [[5, 7], [5, 7], [5, 7]],
    [[300, 257], [257], [300, 257]],
    [[4, 1, 6], [3, 1], [4, 3, 6]],
    [[1], [9, 2, 3], [9, 2, 3]],
    [[], [2, 3], [2, 3]],
    [[2, 1, 3, 1, 5], [2, 4, 1, 6, 1], [2, 4, 3, 6, 5]],
    [[1, 1, 1, 1, 1, 1, 1, 2], [2, 1, 1, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1, 1, 2]],
    [[3, 0], [1], [3, 0]],
    [[1, 1], [1, 1], [4, 5]],
    [[40000, 3], [40000, 1], [40000, 3]],
  ];
  const prod = (s: number[]) => s.reduce((p, v) => p * v, 1);
  for (const op of ['add', 'sub', 'mul', 'div'] as BinaryOp[]) {
    for (const [as, bs, os] of cases) {
      agree(`${op} ${JSON.stringify([as, bs, os])}`, (K, r) => {
        const a = randF32(r, prod(as)), b = randF32(r, prod(bs), 0.5, 2);
        const out = new Float32Array(prod(os));
        K.binary(op, a, as, b, bs, out, os);
        const dOut = randF32(r, prod(os)), da = randF32(r, prod(as)), db = randF32(r, prod(bs));
        K.binaryBackward(op, a, as, b, bs, dOut, os, da, db);
        const da2 = new Float32Array(prod(as));
        K.binaryBackward(op, a, as, b, bs, dOut, os, da2, null);
        return [out, da, db, da2];
      }, 1e-4, 1e-4);
    }
  }
});

test('gram: every entry is the kernel\'s own dot product over its run, bit for bit (chunks, lanes, tails)', { skip }, () => {
  const K = native();
  const r = rng(9);
  const cases = [[2, 0, 1], [2, 7, 7], [2, 515, 515], [3, 65536, 65536], [2, 65536 * 2 + 13, 65536 * 2 + 13], [5, 300007, 300007],
    [2, 1000, 16], [3, 5003, 1024], [2, 200003, 70000], [4, 37, 5]];
  for (const [m, n, run] of cases) {
    const xs = Array.from({ length: m }, () => randF32(r, n));
    const runs = Math.ceil(n / run);
    const out = new Float64Array(runs * m * m);
    K.gram(xs, n, run, out);
    for (let q = 0; q < runs; q++) {
      const s = q * run, len = Math.min(run, n - s);
      for (let a = 0; a < m; a++) {
        for (let b = 0; b < m; b++) {
          const want = K.dot(xs[a]!.subarray(s), xs[b]!.subarray(s), len);
          assert.ok(Object.is(out[q * m * m + a * m + b], want), `m=${m} n=${n} run=${run} r=${q} [${a}, ${b}]`);
        }
      }
    }
  }
  // Views at an offset (a span of a parameter's gradient) read from their own start.
  const base = randF32(r, 9000);
  const out = new Float64Array(4);
  K.gram([base.subarray(100, 5100), base.subarray(3000, 8000)], 5000, 5000, out);
  assert.ok(Object.is(out[1], K.dot(base.subarray(100), base.subarray(3000), 5000)));
});

test('gram / combineRuns: native vs reference', { skip }, () => {
  for (const [m, n, run] of [[2, 0, 3], [2, 5, 5], [2, 70001, 70001], [3, 4099, 1024], [1, 200000, 200000], [4, 131081, 16], [2, 9000, 7]]) {
    agree(`gram m=${m} n=${n} run=${run}`, (K, r) => {
      const xs = Array.from({ length: m }, () => randF32(r, n + 3));
      const out = new Float64Array(Math.ceil(n / run) * m * m).fill(0.25);
      K.gram(xs, n, run, out);
      return Array.from(out);
    }, 1e-4, 1e-5);
    agree(`combineRuns m=${m} n=${n} run=${run}`, (K, r) => {
      const xs = Array.from({ length: m }, () => randF32(r, n + 3));
      const coef = Float64Array.from({ length: Math.ceil(n / run) * m }, () => r() * 2 - 1);
      K.combineRuns(xs, n, run, coef);
      return xs;
    }, 1e-6, 1e-6);
  }
});

test('linearBackward overwrite: stale outputs are set, with the bits of accumulating into zeros, on both backends and 1 or 2 threads', { skip }, () => {
  // M = 0 (nothing to add), M = 1 and N = 1 (the matrix-vector paths), a tail tile, and an inner
  // dimension of several K blocks for dW (Xᵀ·dZ sums over M).
  const shapes: [number, number, number][] = [[0, 3, 4], [1, 5, 7], [9, 6, 1], [37, 19, 23], [700, 33, 40]];
  const T0 = native().getThreads();
  try {
    for (const [M, Kd, N] of shapes) {
      for (const act of ['none', 'relu'] as const) {
        for (const mask of [7, 1, 2, 4, 5]) {
          const run = (K: Kernels, stale: number): Float32Array[] => {
            const r = rng(M * 1000 + Kd * 10 + N);
            const X = randF32(r, M * Kd), W = randF32(r, Kd * N), Y = randF32(r, M * N), dY = randF32(r, M * N);
            const start = [M * Kd, Kd * N, N].map((n, i) => (mask >> i) & 1 ? new Float32Array(n).fill(stale) : randF32(r, n));
            const [dX, dW, db] = start.map((b) => b.slice());
            K.linearBackward(X, W, Y, dY, new Float32Array(M * N), dX!, dW!, db!, M, Kd, N, act, 0, stale === 0 ? 0 : mask);
            return [dX!, dW!, db!];
          };
          const what = `M=${M} K=${Kd} N=${N} ${act} overwrite=${mask}`;
          for (const K of [R, native()]) {
            for (const threads of [1, 2]) {
              native().setThreads(threads);
              const accumulated = run(K, 0), set = run(K, NaN);
              set.forEach((g, i) => assert.ok(bitsEqual(g, accumulated[i]!), `${K.name} ${what} ${threads} threads: output ${'XWb'[i]}`));
            }
          }
          // dW sums M products: its float32 rounding grows with M and with the K-blocks the ISA's
          // blocking splits M into (AVX2's KC of 512 splits 700, AVX-512's does not), hence atol ∝ M.
          agree(what, (K) => run(K, NaN), 1e-5 * Math.max(1, M / 64));
        }
      }
    }
  } finally {
    native().setThreads(T0);
  }
  assert.throws(() => native().linearBackward(new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1),
    null, null, null, 1, 1, 1, 'none', 0, 8), /overwrite must be a bit mask/);
});

test('affine / axpy / axpby / fill', { skip }, () => {
  for (const n of sizes) {
    agree(`n=${n}`, (K, r) => {
      const x = randF32(r, n), out = new Float32Array(n), y = randF32(r, n), f = new Float32Array(n + 1), z = randF32(r, n);
      K.affine(x, out, n, 1.5, -0.25);
      K.axpy(n, -0.3, x, y);
      K.axpby(n, 0.7, x, -1.25, z);
      K.fill(f, n, 3.5);
      return [out, y, f, z];
    });
  }
});

test('reduceSum / reduceSumBackward / sumSquares / copy2d', { skip }, () => {
  const views = [[1, 1, 1], [1, 100000, 1], [7, 13, 1], [3, 5, 4], [2, 9, 1500], [1, 0, 3], [0, 4, 2], [65, 1, 3]];
  for (const [o, l, i] of views) {
    agree(`reduce [${o},${l},${i}]`, (K, r) => {
      const x = randF32(r, o * l * i), out = new Float32Array(o * i);
      K.reduceSum(x, o, l, i, out, 0.5);
      const dOut = randF32(r, o * i), dx = randF32(r, o * l * i);
      K.reduceSumBackward(dOut, o, l, i, dx, 0.5);
      const y = randF32(r, x.length);
      return [out, dx, K.sumSquares(x, x.length), K.dot(x, y, x.length)];
    }, 1e-4, 1e-5);
  }
  agree('copy2d', (K, r) => {
    const src = randF32(r, 500), dst = randF32(r, 600), acc = randF32(r, 600);
    K.copy2d(src, 3, 20, dst, 5, 30, 20, 17, false);
    K.copy2d(src, 0, 25, acc, 1, 29, 19, 25, true);
    const same = randF32(r, 400), rows = randF32(r, 400);
    K.copy2d(same, 0, 20, same, 7, 20, 15, 20, false);  // overlapping source and destination
    K.copy2d(rows, 0, 20, rows, 200, 3, 10, 20, true);   // destination rows overlap each other
    return [dst, acc, same, rows];
  });
});

test('softmax / log-softmax and backward', { skip }, () => {
  const views = [[1, 1, 1], [5, 17, 1], [3, 40, 7], [2, 6, 300], [1, 0, 5], [4, 1000, 1]];
  for (const log of [false, true]) {
    for (const [o, l, i] of views) {
      agree(`softmax log=${log} [${o},${l},${i}]`, (K, r) => {
        const n = o * l * i, x = randF32(r, n, -8, 8), y = new Float32Array(n);
        K.softmax(x, o, l, i, y, log);
        const dy = randF32(r, n), dx = randF32(r, n);
        K.softmaxBackward(y, dy, o, l, i, dx, log);
        return [y, dx];
      }, 1e-5, 1e-4);
    }
  }
});

test('segment softmax / sum / mean with empty segments', { skip }, () => {
  for (const d of [1, 3, 16]) {
    for (const log of [false, true]) {
      agree(`segments d=${d} log=${log}`, (K, r) => {
        const off = randOffsets(r, 40, 6);
        off[5] = off[4];  // force an empty segment
        for (let s = 5; s < off.length; s++) off[s] = Math.max(off[s], off[s - 1]);
        const rows = off[off.length - 1], S = off.length - 1;
        const x = randF32(r, rows * d, -5, 5), y = new Float32Array(rows * d);
        K.segmentSoftmax(x, d, off, y, log);
        const dy = randF32(r, rows * d), dx = randF32(r, rows * d);
        K.segmentSoftmaxBackward(y, dy, d, off, dx, log);
        const sum = new Float32Array(S * d), mean = new Float32Array(S * d);
        K.segmentSum(x, d, off, sum, false);
        K.segmentSum(x, d, off, mean, true);
        const gs = randF32(r, S * d), dxs = randF32(r, rows * d), dxm = randF32(r, rows * d);
        K.segmentSumBackward(gs, d, off, dxs, false);
        K.segmentSumBackward(gs, d, off, dxm, true);
        return [y, dx, sum, mean, dxs, dxm];
      }, 1e-5, 1e-4);
    }
  }
});

test('pairDiff / backward', { skip }, () => {
  agree('pairs', (K, r) => {
    const z = randF32(r, 50), np = 400, pi = randI32(r, np, 50), pj = randI32(r, np, 50);
    const out = new Float32Array(np);
    K.pairDiff(z, pi, pj, out, np);
    const dz = randF32(r, 50);
    K.pairDiffBackward(randF32(r, np), pi, pj, dz, np);
    return [out, dz];
  });
});

test('bceWithLogits (weighted and unweighted)', { skip }, () => {
  for (const n of [1, 17, 40000]) {
    agree(`bce n=${n}`, (K, r) => {
      const z = randF32(r, n, -30, 30), y = Float32Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
      const w = randF32(r, n, 0.1, 3), dz = new Float32Array(n), dzw = new Float32Array(n);
      return [K.bceWithLogits(z, y, null, n, dz), dz, K.bceWithLogits(z, y, w, n, dzw), dzw];
    }, 1e-7, 1e-5);
  }
});

test('layerNorm / batchNorm and backward', { skip }, () => {
  for (const [rows, d] of [[1, 5], [7, 33], [600, 16], [3, 1]]) {
    agree(`layerNorm [${rows},${d}]`, (K, r) => {
      const x = randF32(r, rows * d, -3, 5), g = randF32(r, d), b = randF32(r, d);
      const out = new Float32Array(rows * d), mean = new Float32Array(rows), rstd = new Float32Array(rows);
      K.layerNorm(x, rows, d, g, b, 1e-5, out, mean, rstd);
      const dy = randF32(r, rows * d), dx = randF32(r, rows * d), dg = randF32(r, d), db = randF32(r, d);
      K.layerNormBackward(x, dy, rows, d, g, mean, rstd, dx, dg, db);
      return [out, mean, rstd, dx, dg, db];
    }, 2e-4, 2e-4);
  }
  for (const [rows, d] of [[2, 5], [7, 33], [1000, 8]]) {
    agree(`batchNorm [${rows},${d}]`, (K, r) => {
      const x = randF32(r, rows * d, -3, 5), g = randF32(r, d), b = randF32(r, d);
      const rm = randF32(r, d), rv = randF32(r, d, 0.5, 2);
      const out = new Float32Array(rows * d), mean = new Float32Array(d), rstd = new Float32Array(d);
      K.batchNormTrain(x, rows, d, g, b, 1e-5, 0.1, rm, rv, out, mean, rstd);
      const dy = randF32(r, rows * d), dx = randF32(r, rows * d), dg = randF32(r, d), db = randF32(r, d);
      K.batchNormBackward(x, dy, rows, d, g, mean, rstd, dx, dg, db);
      return [out, mean, rstd, rm, rv, dx, dg, db];
    }, 5e-4, 5e-4);
  }
});

test('dropout masks are bit-identical to the reference', { skip }, () => {
  for (const [n, p, seed] of [[100003, 0.3, 42], [10, 0, 7], [10, 1, 7], [5000, 0.9, 4294967295], [5000, 0.5, -3]]) {
    const run = (K: Kernels) => {
      const x = randF32(rng(9), n), mask = new Float32Array(n), out = new Float32Array(n);
      K.dropout(x, n, p, seed, mask, out);
      return [mask, out];
    };
    const [m1, o1] = run(native()), [m2, o2] = run(R);
    assert.deepEqual(m1, m2, `mask n=${n} p=${p} seed=${seed}`);
    assert.deepEqual(o1, o2, `out n=${n} p=${p} seed=${seed}`);
  }
});

test('embedding lookup / bag / backward', { skip }, () => {
  for (const dim of [1, 4, 19]) {
    const numRows = 300;
    agree(`lookup+backward dim=${dim}`, (K, r) => {
      const table = randF32(r, numRows * dim), n = 1000, ids = randI32(r, n, numRows);
      const out = new Float32Array(n * dim);
      K.embeddingLookup(table, numRows, dim, ids, n, out);
      const dOut = randF32(r, n * dim), wts = randF32(r, n, 0, 2);
      const uniq = new Int32Array(n), grads = new Float32Array(n * dim);
      const U = K.embeddingBackward(ids, n, dOut, dim, numRows, null, null, false, uniq, grads);
      const uniq2 = new Int32Array(n), grads2 = new Float32Array(n * dim);
      const U2 = K.embeddingBackward(ids, n, dOut, dim, numRows, null, wts, false, uniq2, grads2);
      return [out, U, uniq.slice(0, U), grads.slice(0, U * dim), U2, uniq2.slice(0, U2), grads2.slice(0, U2 * dim)];
    });
    for (const mean of [false, true]) {
      agree(`bag+backward dim=${dim} mean=${mean}`, (K, r) => {
        const table = randF32(r, numRows * dim), off = randOffsets(r, 64, 9), n = off[64];
        const ids = randI32(r, n, numRows), wts = randF32(r, n, 0, 2);
        const out = new Float32Array(64 * dim), outW = new Float32Array(64 * dim);
        K.embeddingBag(table, numRows, dim, ids, off, null, mean, out);
        K.embeddingBag(table, numRows, dim, ids, off, wts, mean, outW);
        const dOut = randF32(r, 64 * dim), uniq = new Int32Array(n), grads = new Float32Array(n * dim);
        const U = K.embeddingBackward(ids, n, dOut, dim, numRows, off, wts, mean, uniq, grads);
        return [out, outW, U, uniq.slice(0, U), grads.slice(0, U * dim)];
      });
    }
  }
});

test('dense optimisers: SGD (momentum, Nesterov, wd), Adagrad, Adam, AdamW', { skip }, () => {
  const n = 20001;
  for (const [momentum, dampening, nesterov, wd] of [[0, 0, false, 0], [0.9, 0, false, 0.01], [0.9, 0.1, false, 0], [0.9, 0, true, 0.01]] as [number, number, boolean, number][]) {
    agree(`sgd m=${momentum} d=${dampening} nesterov=${nesterov}`, (K, r) => {
      const p = randF32(r, n), mom = new Float32Array(n);
      for (let step = 0; step < 3; step++) K.sgdStep(p, randF32(r, n), momentum ? mom : null, n, 0.1, momentum, dampening, nesterov, wd, step === 0);
      return [p, mom];
    });
  }
  agree('adagrad', (K, r) => {
    const p = randF32(r, n), acc = new Float32Array(n).fill(0.1);
    for (let step = 0; step < 3; step++) K.adagradStep(p, randF32(r, n), acc, n, 0.05, 1e-10, 0.01);
    return [p, acc];
  });
  for (const decoupled of [false, true]) {
    agree(`adam decoupled=${decoupled}`, (K, r) => {
      const p = randF32(r, n), m = new Float32Array(n), v = new Float32Array(n);
      for (let step = 1; step <= 4; step++) K.adamStep(p, randF32(r, n), m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, step);
      return [p, m, v];
    }, 1e-5, 1e-4);
  }
});

test('sparse optimisers: SGD, Adagrad row-wise / element-wise, SparseAdam', { skip }, () => {
  const numRows = 500, dim = 8, U = 120;
  const rowsOf = (r: () => number, ascending: boolean) => {
    const all = Array.from({ length: numRows }, (_, i) => i).sort(() => r() - 0.5).slice(0, U);
    return Int32Array.from(ascending ? all.sort((a, b) => a - b) : all);
  };
  for (const ascending of [true, false]) {
    agree(`sparse ascending=${ascending}`, (K, r) => {
      const table = randF32(r, numRows * dim), rows = rowsOf(r, ascending), g = randF32(r, U * dim);
      const accRow = new Float32Array(numRows).fill(0.1), accEl = new Float32Array(numRows * dim).fill(0.1);
      const m = new Float32Array(numRows * dim), v = new Float32Array(numRows * dim);
      const t1 = table.slice(), t2 = table.slice(), t3 = table.slice(), t4 = table.slice();
      K.sparseSgd(t1, dim, rows, g, U, 0.1);
      K.sparseAdagrad(t2, dim, accRow, rows, g, U, 0.1, 1e-10, true);
      K.sparseAdagrad(t3, dim, accEl, rows, g, U, 0.1, 1e-10, false);
      for (let step = 1; step <= 3; step++) K.sparseAdam(t4, dim, m, v, rows, g, U, 1e-3, 0.9, 0.999, 1e-8, step);
      return [t1, t2, accRow, t3, accEl, t4, m, v];
    }, 1e-5, 1e-4);
  }
});
