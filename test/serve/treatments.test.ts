/**
 * POST /v1/treatments: a Q·U model scores every candidate row under every UI treatment; each
 * score equals /v1/predict on the row combining the two to float32 rounding of the dot product;
 * bad requests name the row or treatment and the field; other models answer 404.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type CtrkitServer } from '../../src/serve/server.js';
import { censusColumns, censusPrefix, requestRow, SHORT_TRAIN, trainCensus } from './census.js';

/** Census fields in groups: year (the survey year) plays the UI treatment, the rest the query and ad. */
function withGroups(yaml: string): string {
  return yaml.replace(/- \{ name: (\w+), kind:/g, (_m, name: string) => `- { name: ${name}, group: ${name === 'year' ? 'ui' : 'query'}, kind:`);
}

describe('serve: POST /v1/treatments (Q·U)', () => {
  let dir: string;
  let server: CtrkitServer;
  let lrServer: CtrkitServer;
  let rows: Record<string, string>[];
  let quDir: string;
  const treatments = [{ year: '94' }, { year: '95' }, { year: 'unseen' }];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-treatments-'));
    const data = censusPrefix(dir, 1500);
    const qu = await trainCensus(join(dir, 'qu'), data.file, '{ type: qu, dim: 4, q: [query], u: [ui], qHidden: [16], uHidden: [4], outDim: 4 }', SHORT_TRAIN, withGroups);
    const lr = await trainCensus(join(dir, 'lr'), data.file, '{ type: lr }', SHORT_TRAIN, withGroups);
    quDir = qu;
    server = createServer({ modelDir: qu, reload: { watch: false, pollMs: 0 } });
    lrServer = createServer({ modelDir: lr, reload: { watch: false, pollMs: 0 } });
    const fields = server.current().features.map((f) => f.name).filter((f) => f !== 'year');
    rows = data.lines.slice(0, 6).map((l) => requestRow(l, censusColumns(), fields));
  });
  after(async () => {
    await server.close();
    await lrServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function post(s: CtrkitServer, url: string, payload: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await s.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
    return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
  }

  it('scores rows × treatments as /v1/predict scores the combined rows (to float32 rounding); top keeps the best', async () => {
    const r = await post(server, '/v1/treatments', { rows, treatments });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.model, server.current().version);
    const scores = r.body.scores as number[][];
    assert.equal(scores.length, rows.length);
    const combined = rows.flatMap((row) => treatments.map((t) => ({ ...row, ...t })));
    const p = await post(server, '/v1/predict', { rows: combined });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    const predicted = p.body.scores as number[];
    let worst = 0;
    scores.forEach((s, i) => {
      assert.equal(s.length, treatments.length);
      s.forEach((v, k) => void (worst = Math.max(worst, Math.abs(v - predicted[i * treatments.length + k]!))));
    });
    assert.ok(worst <= 1e-6, `largest |treatments − predict| ${worst}`);
    assert.ok(new Set(scores.flat()).size > rows.length, 'treatments change the scores');

    const top = await post(server, '/v1/treatments', { rows, treatments, top: 2 });
    assert.equal(top.status, 200, JSON.stringify(top.body));
    const best = scores.map((s) => s.map((v, k) => ({ v, k })).sort((a, b) => b.v - a.v || a.k - b.k).slice(0, 2));
    assert.deepEqual(top.body.treatments, best.map((b) => b.map((x) => x.k)));
    assert.deepEqual(top.body.scores, best.map((b) => b.map((x) => x.v)));

    // context holds candidate fields shared by the rows.
    const { age, ...rest } = rows[0]!;
    const ctx = await post(server, '/v1/treatments', { rows: [rest], context: { age }, treatments });
    assert.deepEqual(ctx.body.scores, [scores[0]]);
  });

  it('is scored on the scoring thread (the event loop holds no weights), bit for bit as on the event loop', async () => {
    const threaded = createServer({ modelDir: quDir, scoreThread: true, reload: { watch: false, pollMs: 0 } });
    const onLoop = createServer({ modelDir: quDir, scoreThread: false, reload: { watch: false, pollMs: 0 } });
    try {
      await threaded.ready();
      for (const body of [{ rows, treatments }, { rows: rows.slice(1, 4), treatments: treatments.slice(1), top: 1 }, { rows: [], treatments }]) {
        const there = await post(threaded, '/v1/treatments', body);
        assert.equal(there.status, 200, JSON.stringify(there.body));
        assert.deepEqual(there.body, (await post(onLoop, '/v1/treatments', body)).body);
      }
      assert.equal(threaded.current().loaded, undefined);
      assert.equal(threaded.scoring!.where(), 'thread');
    } finally {
      await threaded.close();
      await onLoop.close();
    }
  });

  it('names the row or treatment and the field of a bad request; a model that is not Q·U answers 404', async () => {
    const cases: [unknown, RegExp, string | undefined][] = [
      [{ rows: [{ ...rows[0], year: '94' }], treatments }, /is a treatment feature/, 'year'],
      [{ rows, treatments: [{ year: '94', age: 3 }] }, /is not a treatment feature/, 'treatments[0].age'],
      [{ rows, treatments: [{}] }, /missing/, 'treatments[0].year'],
      [{ rows, treatments: [] }, /non-empty array/, 'treatments'],
      [{ rows }, /non-empty array/, 'treatments'],
      [{ rows, treatments, top: 0 }, /positive integer/, 'top'],
    ];
    for (const [body, message, field] of cases) {
      const r = await post(server, '/v1/treatments', body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      const e = r.body.error as { message: string; field?: string };
      assert.match(e.message, message);
      assert.equal(e.field, field, e.message);
    }
    const other = await post(lrServer, '/v1/treatments', { rows, treatments });
    assert.equal(other.status, 404);
    assert.match((other.body.error as { message: string }).message, /needs a Q·U model.*'lr'/);
  });
});
