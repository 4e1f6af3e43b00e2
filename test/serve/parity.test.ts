/**
 * The server's scores are `ctrkit predict`'s, bit for bit, for every model type: the same rows of
 * the census file, sent as JSON raw values in concurrent requests of different sizes (so they are
 * coalesced and chunked differently from predict's batches; as rows and as columns), give the same float64 probabilities,
 * and the JSON numbers print exactly as predict's CSV cells. Scored on the scoring thread (the
 * default) and on the event loop; DNN and DCN-v2 also at int8 and bf16 (`--precision`).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type CtrkitServer } from '../../src/serve/server.js';
import { censusColumns, censusPrefix, predictScores, requestRow, SHORT_TRAIN, trainCensus } from './census.js';
import { batchesScored } from './tiny.js';
import { scanRows } from '../../src/serve/rowsText.js';
import { nativeKernels } from '../../src/backend/index.js';
import type { Precision } from '../../src/nn/quantize.js';

const ROWS = 3000;
// Reduced precision needs the native kernels.
const REDUCED: Precision[] = nativeKernels() === null ? [] : ['int8', 'bf16'];
const MODELS: { name: string; model: string; calibration?: string; precisions?: Precision[] }[] = [
  { name: 'lr', model: '{ type: lr }', calibration: 'platt' },
  { name: 'fm', model: '{ type: fm, dim: 8 }' },
  { name: 'dnn', model: '{ type: dnn, dim: 8, hidden: [32, 16] }', calibration: 'isotonic', precisions: REDUCED },
  { name: 'dcnv2', model: '{ type: dcnv2, dim: 8, hidden: [32], crossLayers: 2 }', precisions: REDUCED },
];

describe('serve: scores equal ctrkit predict bit for bit', () => {
  let dir: string;
  let data: { file: string; lines: string[] };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-parity-'));
    data = censusPrefix(dir, ROWS);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a multi-task model (mmoe): scores keyed by task, each equal to predict\'s score_<task>', async () => {
    const tasks = ['income', 'marital'];
    const modelDir = await trainCensus(join(dir, 'mmoe'), data.file, '{ type: mmoe, dim: 4, experts: 3, expert: [16], tower: [8] }',
      SHORT_TRAIN.replace(/ }$/, ', tasks: [{ name: income }, { name: marital }] }'),
      (y) => y.replace(/^(\s*- \{ name: income, .*)$/m, '$1\n    - { name: marital, column: marital_stat, type: binary, positive: { equals: Never married } }'));
    const offline = Object.fromEntries(tasks.map((t) => [t, predictScores(modelDir, data.file, `score_${t}`)]));
    const server: CtrkitServer = createServer({ modelDir, scoreThread: true, batch: { maxWaitMs: 5, maxBatchRows: 700, chunkRows: 97 } });
    try {
      await server.ready();
      assert.deepEqual(server.current().tasks, tasks);
      const fields = server.current().features.map((f) => f.name);
      const rows = data.lines.slice(0, 500).map((l) => requestRow(l, censusColumns(), fields));
      const replies = await Promise.all([rows.slice(0, 123), rows.slice(123)].map((part) => server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: part } })));
      const served: Record<string, number[]> = { income: [], marital: [] };
      for (const r of replies) {
        assert.equal(r.statusCode, 200, r.body);
        const j = JSON.parse(r.body) as { scores: Record<string, number[]> };
        for (const t of tasks) served[t]!.push(...j.scores[t]!);
      }
      for (const t of tasks) {
        for (let i = 0; i < 500; i++) assert.ok(Object.is(served[t]![i], Number(offline[t]![i])), `${t} row ${i}: served ${served[t]![i]}, predict ${offline[t]![i]}`);
        assert.ok(new Set(offline[t]!.slice(0, 500)).size > 20, `${t}: only ${new Set(offline[t]).size} distinct scores`);
      }
      const scored = await batchesScored(server);
      assert.ok(scored.thread > 0 && scored.event_loop === 0, JSON.stringify(scored));
    } finally {
      await server.close();
    }
  });

  for (const m of MODELS) {
    it(`${m.name}${m.calibration ? ` (${m.calibration} calibration)` : ''}`, async () => {
      const train = m.calibration ? SHORT_TRAIN.replace(/ }$/, `, calibration: ${m.calibration} }`) : SHORT_TRAIN;
      const modelDir = await trainCensus(join(dir, m.name), data.file, m.model, train);
      const offline = predictScores(modelDir, data.file);
      assert.equal(offline.length, ROWS);

      for (const [precision, scoreThread] of [['fp32', true], ['fp32', false], ...(m.precisions ?? []).map((p) => [p, true])] as [Precision, boolean][]) {
        // With the thread, requests come one at a time: those of at most loopRows rows are scored on the event loop with the thread's shared weights, the others on the thread.
        const expected = precision === 'fp32' ? offline : predictScores(modelDir, data.file, 'score', ['--precision', precision]);
        await servedEqual(modelDir, data.lines, expected, precision, scoreThread);
      }
    });
  }
});

/** Serves `modelDir` and checks its scores of `lines` (sent as JSON) against `offline` (predict's CSV cells, in row order). */
async function servedEqual(modelDir: string, lines: readonly string[], offline: readonly string[], precision: Precision, scoreThread: boolean): Promise<void> {
  const what = `${precision}, ${scoreThread ? 'scoring thread and shared weights' : 'event loop'}`;
  // Small chunks and a generous wait: many requests share a batch, and batches split unevenly.
  const server: CtrkitServer = createServer({ modelDir, precision, scoreThread, batch: { maxWaitMs: 5, maxBatchRows: 700, chunkRows: 97, loopRows: 40 } });
  try {
    await server.ready();
    const fields = server.current().features.map((f) => f.name);
    const columns = censusColumns();
    const rows = lines.map((l) => requestRow(l, columns, fields));
    const sizes = [1, 7, 250, 1, 1000, 33, 2, 1706];
    assert.equal(sizes.reduce((a, b) => a + b, 0), ROWS);
    // Row bodies and columnar bodies alternate, so batches mix both.
    let at = 0;
    const send = async (n: number, k: number): Promise<{ statusCode: number; body: string }> => {
      const part = rows.slice(at, at + n);
      at += n;
      const body = k % 2 === 0 ? { rows: part } : { columns: Object.fromEntries(fields.map((f) => [f, part.map((r) => r[f])])) };
      const text = JSON.stringify(body);
      // A rows body is read from its text (rowsText.ts), not by JSON.parse: that is the path compared here.
      if (k % 2 === 0) assert.ok(scanRows(text, new Map(fields.map((f, i) => [f, i])), fields.length, 4096) !== undefined, `${what}: rows body not read from its text`);
      return await server.app.inject({ method: 'POST', url: '/v1/predict', payload: text, headers: { 'content-type': 'application/json' } });
    };
    const replies: { statusCode: number; body: string }[] = [];
    if (scoreThread) for (const [k, n] of sizes.entries()) replies.push(await send(n, k));
    else replies.push(...await Promise.all(sizes.map(send)));
    const served: number[] = [];
    const printed: string[] = [];
    for (const r of replies) {
      assert.equal(r.statusCode, 200, r.body);
      const j = JSON.parse(r.body) as { model: string; scores: number[] };
      assert.equal(j.model, server.current().version);
      served.push(...j.scores);
      // The numbers as they appear in the JSON text.
      printed.push(...r.body.slice(r.body.indexOf('[') + 1, r.body.lastIndexOf(']')).split(','));
    }
    assert.equal(served.length, ROWS);
    for (let i = 0; i < ROWS; i++) {
      assert.ok(Object.is(served[i], Number(offline[i])), `${what}: row ${i}: served ${served[i]}, predict ${offline[i]}`);
      assert.equal(printed[i], offline[i], `${what}: row ${i}: JSON text`);
    }
    // Not all equal: a constant model would pass the comparison trivially.
    assert.ok(new Set(offline).size > 20, `${what}: only ${new Set(offline).size} distinct scores`);
    // Where the batches were scored: the large ones on the thread and the small ones on the event loop, or all on the event loop.
    const scored = await batchesScored(server);
    assert.ok(scoreThread ? scored.thread === 3 && scored.event_loop === 5 : scored.thread === 0 && scored.event_loop > 0, `${what}: ${JSON.stringify(scored)}`);
    // The event loop scored with the thread's weights, not a copy of its own.
    if (scoreThread) for (const t of server.current().weights!.values()) assert.ok(t.data.buffer instanceof SharedArrayBuffer, what);
  } finally {
    await server.close();
  }
}
