/**
 * Thread-count independence: every parallel kernel must give bit-identical results with 1
 * and 2 threads (sizes are chosen to span many parallel chunks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels } from '../../src/backend/kernels.js';
import { bitsEqual, native, randF32, randI32, randOffsets, rng, skip } from './setup.js';

type Out = Float32Array | Int32Array | number;

function sameWithThreads(label: string, run: (K: Kernels, r: () => number) => Out[]): void {
  const K = native();
  const before = K.getThreads();
  K.setThreads(1);
  const a = run(K, rng(5));
  K.setThreads(2);
  const b = run(K, rng(5));
  K.setThreads(before);
  a.forEach((v, i) => {
    const w = b[i];
    if (typeof v === 'number') assert.ok(Object.is(v, w), `${label} #${i}: ${v} vs ${String(w)}`);
    else if (v instanceof Int32Array) assert.deepEqual(v, w, `${label} #${i}`);
    else assert.ok(bitsEqual(v, w as Float32Array), `${label} #${i}: results differ between 1 and 2 threads`);
  });
}

const big = 300007;

test('elementwise, reductions, softmax, segments', { skip }, () => {
  sameWithThreads('elementwise', (K, r) => {
    const x = randF32(r, big), y = new Float32Array(big), dx = new Float32Array(big), dy = randF32(r, big);
    K.unary('tanh', x, y, big, 0);
    K.unaryBackward('tanh', x, y, dy, dx, big, 0);
    const out = new Float32Array(big);
    const a = randF32(r, 1000 * 300), b = randF32(r, 300), o = new Float32Array(1000 * 300);
    K.binary('mul', a, [1000, 300], b, [300], o, [1000, 300]);
    const da = new Float32Array(a.length), db = new Float32Array(300);
    K.binaryBackward('mul', a, [1000, 300], b, [300], o, [1000, 300], da, db);
    K.affine(x, out, big, 2, 1);
    return [y, dx, o, da, db, out];
  });
  sameWithThreads('reductions', (K, r) => {
    const x = randF32(r, big * 4), s1 = new Float32Array(1), s2 = new Float32Array(4), s3 = new Float32Array(big);
    K.reduceSum(x, 1, big * 4, 1, s1, 1);
    K.reduceSum(x, 1, big, 4, s2, 1);
    K.reduceSum(x, big, 4, 1, s3, 0.25);
    const g = new Float64Array(9), chunks = new Float64Array(Math.ceil(big / 1000) * 4);
    K.gram([x, x.slice().reverse(), s3], big, big, g);
    K.gram([x, s3], big, 1000, chunks);
    const c = [x.slice(), x.slice().reverse()];
    K.combineRuns(c, big, 1000, Float64Array.from({ length: chunks.length / 2 }, (_, k) => (k % 3) - 0.5));
    return [s1, s2, s3, K.sumSquares(x, x.length), K.dot(x, x.slice().reverse(), x.length), ...g, ...chunks, c[0]!];
  });
  sameWithThreads('softmax', (K, r) => {
    const x = randF32(r, 3000 * 100), y = new Float32Array(x.length), dx = new Float32Array(x.length);
    K.softmax(x, 3000, 100, 1, y, false);
    K.softmaxBackward(y, randF32(r, x.length), 3000, 100, 1, dx, false);
    const y2 = new Float32Array(x.length);
    K.softmax(x, 10, 100, 300, y2, true);
    return [y, dx, y2];
  });
  sameWithThreads('segments', (K, r) => {
    const off = randOffsets(r, 20000, 10), rows = off[off.length - 1], d = 8, S = 20000;
    const x = randF32(r, rows * d), y = new Float32Array(rows * d), s = new Float32Array(S * d), dx = new Float32Array(rows * d);
    K.segmentSoftmax(x, d, off, y, false);
    K.segmentSum(x, d, off, s, true);
    K.segmentSumBackward(s, d, off, dx, true);
    return [y, s, dx];
  });
});

test('loss, norms, dropout', { skip }, () => {
  sameWithThreads('bce', (K, r) => {
    const z = randF32(r, big, -10, 10), y = Float32Array.from({ length: big }, () => (r() < 0.2 ? 1 : 0));
    const w = randF32(r, big, 0, 2), dz = new Float32Array(big);
    return [K.bceWithLogits(z, y, w, big, dz), dz];
  });
  sameWithThreads('norms', (K, r) => {
    const rows = 20000, d = 16, x = randF32(r, rows * d), g = randF32(r, d), b = randF32(r, d);
    const out = new Float32Array(rows * d), mean = new Float32Array(rows), rstd = new Float32Array(rows);
    K.layerNorm(x, rows, d, g, b, 1e-5, out, mean, rstd);
    const dx = new Float32Array(rows * d), dg = new Float32Array(d), db = new Float32Array(d), dy = randF32(r, rows * d);
    K.layerNormBackward(x, dy, rows, d, g, mean, rstd, dx, dg, db);
    const bo = new Float32Array(rows * d), bm = new Float32Array(d), br = new Float32Array(d);
    const rm = new Float32Array(d), rv = new Float32Array(d).fill(1);
    K.batchNormTrain(x, rows, d, g, b, 1e-5, 0.1, rm, rv, bo, bm, br);
    const bdx = new Float32Array(rows * d), bdg = new Float32Array(d), bdb = new Float32Array(d);
    K.batchNormBackward(x, dy, rows, d, g, bm, br, bdx, bdg, bdb);
    return [out, mean, rstd, dx, dg, db, bo, bm, br, rm, rv, bdx, bdg, bdb];
  });
  sameWithThreads('dropout', (K, r) => {
    const x = randF32(r, big), mask = new Float32Array(big), out = new Float32Array(big);
    K.dropout(x, big, 0.25, 1234, mask, out);
    return [mask, out];
  });
});

test('embeddings and optimisers', { skip }, () => {
  sameWithThreads('embedding', (K, r) => {
    const numRows = 5_000_000, dim = 4, n = 200_000, ids = randI32(r, n, numRows);
    const dOut = randF32(r, n * dim), uniq = new Int32Array(n), grads = new Float32Array(n * dim);
    const U = K.embeddingBackward(ids, n, dOut, dim, numRows, null, null, false, uniq, grads);
    const off = randOffsets(r, 30000, 12), m = off[off.length - 1], bagIds = randI32(r, m, 1000);
    const table = randF32(r, 1000 * dim), bag = new Float32Array(30000 * dim);
    K.embeddingBag(table, 1000, dim, bagIds, off, null, true, bag);
    const bu = new Int32Array(m), bg = new Float32Array(m * dim);
    const BU = K.embeddingBackward(bagIds, m, bag, dim, 1000, off, null, true, bu, bg);
    return [U, uniq, grads, bag, BU, bu, bg];
  });
  sameWithThreads('optimisers', (K, r) => {
    const n = big, p = randF32(r, n), g = randF32(r, n), m = new Float32Array(n), v = new Float32Array(n);
    K.adamStep(p, g, m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, true, 3);
    const table = randF32(r, 100000 * 8), acc = new Float32Array(100000);
    const rows = Int32Array.from({ length: 50000 }, (_, i) => i * 2), rg = randF32(r, 50000 * 8);
    K.sparseAdagrad(table, 8, acc, rows, rg, 50000, 0.1, 1e-10, true);
    return [p, m, v, table, acc];
  });
});


test('DIN fused attention', { skip }, () => {
  for (const [act, d, h] of [['relu', 16, 36], ['sigmoid', 5, 70]] as const) {
    sameWithThreads(`targetAttention ${act}`, (K, r) => {
      const S = 700, off = randOffsets(r, S, 50), P = off[S]!;
      const eb = randF32(r, P * d, -0.5, 0.5), et = randF32(r, S * d, -0.5, 0.5), W1 = randF32(r, 4 * d * h, -0.3, 0.3);
      const b1 = randF32(r, h), w2 = randF32(r, h), b2 = randF32(r, 1), pooled = new Float32Array(S * d);
      K.targetAttention(eb, et, off, W1, b1, w2, b2, d, h, act, 0, pooled);
      const deb = new Float32Array(P * d), det = new Float32Array(S * d), dW1 = new Float32Array(4 * d * h);
      const db1 = new Float32Array(h), dw2 = new Float32Array(h), db2 = new Float32Array(1);
      K.targetAttentionBackward(eb, et, off, W1, b1, w2, b2, d, h, act, 0, randF32(r, S * d), deb, det, dW1, db1, dw2, db2);
      return [pooled, deb, det, dW1, db1, dw2, db2];
    });
  }
});
