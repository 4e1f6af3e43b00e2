/**
 * Bad and hostile requests: every class is a 400 (413 for an oversized body) whose JSON error
 * names the row and the field, the server keeps serving, and unknown categories score as OOV,
 * exactly as the same values in a file do.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type CtrkitServer } from '../../src/serve/server.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { censusColumns, censusPrefix, requestRow, SHORT_TRAIN, trainCensus } from './census.js';

interface ErrorBody { error: { code: string; message: string; row?: number; field?: string } }

describe('serve: bad input', () => {
  let dir: string;
  let modelDir: string;
  let server: CtrkitServer;
  let lines: string[];
  let rows: Record<string, string>[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-input-'));
    const data = censusPrefix(dir, 1500);
    lines = data.lines;
    modelDir = await trainCensus(join(dir, 'lr'), data.file, '{ type: lr }', SHORT_TRAIN);
    server = createServer({ modelDir, maxRows: 5, bodyLimit: 20_000 });
    const fields = server.current().features.map((f) => f.name);
    rows = lines.slice(0, 5).map((l) => requestRow(l, censusColumns(), fields));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const predict = (payload: unknown, headers: Record<string, string> = {}) =>
    server.app.inject({ method: 'POST', url: '/v1/predict', payload: payload as string, headers });

  /** Asserts a 400 whose error names `row` and `field` (undefined: not named) and whose message contains `text`. */
  async function rejects(payload: unknown, row: number | undefined, field: string | undefined, text: string, status = 400): Promise<void> {
    const r = await predict(payload, typeof payload === 'string' ? { 'content-type': 'application/json' } : {});
    assert.equal(r.statusCode, status, r.body);
    const e = (JSON.parse(r.body) as ErrorBody).error;
    assert.equal(e.row, row, r.body);
    assert.equal(e.field, field, r.body);
    assert.ok(e.message.includes(text), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(text)}`);
  }

  const withRow = (i: number, patch: Record<string, unknown>, drop?: string): Record<string, unknown>[] =>
    rows.map((r, k) => {
      if (k !== i) return r;
      const out: Record<string, unknown> = { ...r, ...patch };
      if (drop) delete out[drop];
      return out;
    });

  it('scores good rows (the baseline of the cases below)', async () => {
    const r = await predict({ rows });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((JSON.parse(r.body) as { scores: number[] }).scores.length, 5);
  });

  it('unknown field', () => rejects({ rows: withRow(3, { colour: 'red' }) }, 3, 'colour', 'unknown field'));
  it('a label or a column that is not a feature is unknown too', () => rejects({ rows: withRow(1, { income_50k: '- 50000.' }) }, 1, 'income_50k', 'unknown field'));
  it('unknown context field', () => rejects({ rows, context: { colour: 'red' } }, undefined, 'context.colour', 'unknown field'));
  it('unknown top-level key', () => rejects({ rows, extra: 1 }, undefined, undefined, 'unknown key "extra"'));
  it('wrong type: object', () => rejects({ rows: withRow(2, { race: { a: 1 } }) }, 2, 'race', 'got an object'));
  it('wrong type: boolean', () => rejects({ rows: withRow(0, { sex: true }) }, 0, 'sex', 'got boolean true'));
  it('wrong type: array for a non-sequence field', () => rejects({ rows: withRow(4, { sex: ['Male'] }) }, 4, 'sex', 'got an array'));
  it('wrong type: text for a numeric field', () => rejects({ rows: withRow(1, { age: 'old' }) }, 1, 'age', 'expected a number, got "old"'));
  it('missing required field', () => rejects({ rows: withRow(2, {}, 'education') }, 2, 'education', 'missing'));
  it('too many rows', () => rejects({ rows: [...rows, rows[0]] }, undefined, 'rows', 'too many rows: 6 (at most 5'));
  it('rows is not an array', () => rejects({ rows: { age: 1 } }, undefined, 'rows', 'must be an array'));
  it('a row is not an object', () => rejects({ rows: [rows[0], 17] }, 1, undefined, 'expected an object'));
  it('Infinity (1e999 in the JSON text)', () => {
    const text = JSON.stringify({ rows: withRow(3, { wage_per_hour: 12345 }) }).replace('12345', '1e999');
    return rejects(text, 3, 'wage_per_hour', 'finite');
  });
  it('"NaN" / "Infinity" as text for a numeric field', async () => {
    await rejects({ rows: withRow(0, { age: 'NaN' }) }, 0, 'age', 'expected a number');
    await rejects({ rows: withRow(1, { capital_gains: '-Infinity' }) }, 1, 'capital_gains', 'expected a number');
  });
  it('NaN literal (not JSON)', () => rejects(JSON.stringify({ rows }).replace('"38"', 'NaN'), undefined, undefined, 'not valid JSON'));
  it('body that is not JSON, whatever its content type', async () => {
    await rejects('rows=1', undefined, undefined, 'not valid JSON');
    const r = await predict('hello', { 'content-type': 'text/plain' });
    assert.equal(r.statusCode, 400, r.body);
    const f = await predict('a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(f.statusCode, 400, f.body);
  });
  it('empty body and a body that is not an object', async () => {
    const r = await server.app.inject({ method: 'POST', url: '/v1/predict' });
    assert.equal(r.statusCode, 400, r.body);
    await rejects('[1, 2]', undefined, undefined, 'must be a JSON object');
    await rejects('   ', undefined, undefined, 'empty');
  });
  it('body over the size limit: 413', async () => {
    const r = await predict({ rows: withRow(0, { education: 'x'.repeat(30_000) }) });
    assert.equal(r.statusCode, 413, r.body);
    assert.equal((JSON.parse(r.body) as ErrorBody).error.code, 'too_large');
  });
  it('a "__proto__" key is an unknown field, not a prototype', () =>
    rejects(`{"rows": [{"__proto__": {"age": "1"}}]}`, 0, '__proto__', 'unknown field'));
  it('rows: the first problem in row order is named, whatever its class', async () => {
    const fields = server.current().features.map((f) => f.name);
    assert.ok(fields.indexOf('age') < fields.indexOf('wage_per_hour'));
    const twoBad = rows.map((r, k) => (k === 0 ? { ...r, wage_per_hour: 'lots' } : k === 1 ? { ...r, age: 'old' } : r));
    await rejects({ rows: twoBad }, 0, 'wage_per_hour', 'expected a number, got "lots"');
    await rejects({ rows: twoBad.map((r, k) => (k === 3 ? { ...r, colour: 'red' } : r)) }, 0, 'wage_per_hour', 'expected a number');
    await rejects({ rows: rows.map((r, k) => (k === 0 ? { ...r, age: 'old' } : k === 3 ? { ...r, colour: 'red' } : r)) }, 0, 'age', 'expected a number');
  });
  it('a field both in the row and in context', () => rejects({ rows, context: { sex: 'Male' } }, 0, 'sex', 'both in the row and in context'));
  it('a bad context value names the context field', () =>
    rejects({ rows: rows.map(({ age: _a, ...r }) => r), context: { age: 'old' } }, undefined, 'context.age', 'expected a number'));

  /** The rows as a columnar body's columns (`patch`: field → value per row replacing theirs). */
  const columnsOf = (rs: Record<string, unknown>[]): Record<string, unknown[]> =>
    Object.fromEntries(Object.keys(rs[0]!).map((f) => [f, rs.map((r) => r[f])]));

  it('columns: scores equal the rows\' (context, numbers and null too)', async () => {
    const { sex, year, ...rest } = rows[0]!;
    const mixed: Record<string, unknown>[] = rows.map((r, i) => ({ ...r, age: i % 2 === 0 ? Number(r.age) : r.age, education: i === 3 ? null : r.education, class_worker: i === 1 ? 'never-seen' : r.class_worker }));
    for (const [byRow, byColumn] of [
      [{ rows: mixed }, { columns: columnsOf(mixed) }],
      [{ rows: [rest, rest], context: { sex, year } }, { columns: columnsOf([rest, rest]), context: { sex, year } }],
    ] as const) {
      const a = await predict(byRow);
      const b = await predict(byColumn);
      assert.equal(b.statusCode, 200, b.body);
      assert.equal(b.body, a.body);
    }
    assert.equal(new Set((JSON.parse((await predict({ columns: columnsOf(mixed) })).body) as { scores: number[] }).scores).size, 5);
  });

  it('columns: every bad-input class names the field (and the row for a value)', async () => {
    const cols = columnsOf(rows);
    const patched = (field: string, r: number, v: unknown): Record<string, unknown[]> => ({ ...cols, [field]: cols[field]!.map((x, k) => (k === r ? v : x)) });
    const { education: _e, ...noEducation } = cols;
    await rejects({ columns: { ...cols, colour: ['red'] } }, undefined, 'colour', 'unknown field');
    await rejects({ columns: noEducation }, undefined, 'education', 'missing');
    await rejects({ columns: patched('race', 2, { a: 1 }) }, 2, 'race', 'got an object');
    await rejects({ columns: patched('sex', 0, true) }, 0, 'sex', 'got boolean true');
    await rejects({ columns: patched('age', 4, 'old') }, 4, 'age', 'expected a number, got "old"');
    await rejects({ columns: patched('age', 1, 'NaN') }, 1, 'age', 'expected a number');
    await rejects(JSON.stringify({ columns: patched('wage_per_hour', 3, 12345) }).replace('12345', '1e999'), 3, 'wage_per_hour', 'finite');
    await rejects({ columns: { ...cols, sex: 'Male' } }, undefined, 'sex', 'expected an array of values');
    await rejects({ columns: { ...cols, sex: cols.sex!.slice(1) } }, undefined, 'sex', 'has 4 values, expected 5');
    await rejects({ columns: columnsOf([...rows, rows[0]!]) }, undefined, 'columns', 'too many rows: 6 (at most 5');
    await rejects({ columns: [cols] }, undefined, 'columns', 'must be an object');
    await rejects({ columns: cols, context: { sex: 'Male' } }, undefined, 'sex', 'both in columns and in context');
    await rejects({ columns: cols, context: { colour: 'red' } }, undefined, 'context.colour', 'unknown field');
    const { age: _a, ...noAge } = cols;
    await rejects({ columns: noAge, context: { age: 'old' } }, undefined, 'context.age', 'expected a number');
    await rejects({ columns: {}, context: rows[0] }, undefined, 'columns', 'at least one field');
    await rejects({ rows, columns: cols }, undefined, undefined, 'either "rows" or "columns"');
    await rejects(`{"columns": {"__proto__": ["1"]}}`, undefined, '__proto__', 'unknown field');
  });

  it('context values are shared by every row and score as if in each row', async () => {
    const { sex, year, ...rest } = rows[0]!;
    const full = await predict({ rows: [rows[0], rows[0]] });
    const shared = await predict({ rows: [rest, rest], context: { sex, year } });
    assert.equal(shared.statusCode, 200, shared.body);
    assert.deepEqual(JSON.parse(shared.body), JSON.parse(full.body));
  });

  it('numbers and numeric text encode alike (as a CSV reader sees them)', async () => {
    const asText = await predict({ rows: [rows[0]] });
    const asNumbers = await predict({ rows: [{ ...rows[0], age: Number(rows[0]!.age), det_ind_code: Number(rows[0]!.det_ind_code) }] });
    assert.equal(asNumbers.statusCode, 200, asNumbers.body);
    assert.equal(asNumbers.body, asText.body);
  });

  it('unknown categories and null score as OOV / missing, as in a file', async () => {
    // The same values written into a data file and scored offline.
    const cols = censusColumns();
    const edit = (line: string, values: Record<string, string>): string =>
      line.split(',').map((c, k) => (values[cols[k]!] !== undefined ? ` ${values[cols[k]!]}` : c)).join(',');
    const file = join(dir, 'oov.csv');
    writeFileSync(file, [edit(lines[0]!, { class_worker: 'never-seen-1' }), edit(lines[0]!, { class_worker: 'never-seen-2', education: '' })].join('\n') + '\n');
    const offline = await scoreFile(modelDir, file, { labels: true });
    const r = await predict({ rows: [{ ...rows[0], class_worker: 'never-seen-1' }, { ...rows[0], class_worker: 'never-seen-2', education: null }] });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual((JSON.parse(r.body) as { scores: number[] }).scores, Array.from(offline.probs));
    const known = await predict({ rows: [rows[0]] });
    assert.notEqual(JSON.parse(known.body).scores[0], offline.probs[0], 'the OOV row must score differently from the known one');
  });

  it('keeps serving after all of the above, and counts the errors', async () => {
    const h = await server.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(h.statusCode, 200);
    const r = await predict({ rows });
    assert.equal(r.statusCode, 200, r.body);
    const m = await server.app.inject({ method: 'GET', url: '/metrics' });
    const bad = /ctrkit_serve_errors_total\{route="\/v1\/predict",kind="bad_request"\} (\d+)/.exec(m.body);
    assert.ok(bad && Number(bad[1]) >= 20, m.body.slice(0, 2000));
    assert.match(m.body, /ctrkit_serve_errors_total\{route="\/v1\/predict",kind="too_large"\} 1/);
    assert.match(m.body, new RegExp(`ctrkit_serve_model_info\\{version="${server.current().version}",type="lr",data_hash="sha256:[0-9a-f]{64}"\\} 1`));
    assert.match(m.body, /ctrkit_serve_request_duration_seconds_count\{route="\/v1\/predict"\} \d+/);
    assert.match(m.body, /ctrkit_serve_batch_rows_count \d+/);
    const nf = await server.app.inject({ method: 'GET', url: '/nope' });
    assert.equal(nf.statusCode, 404);
    assert.equal((JSON.parse(nf.body) as ErrorBody).error.code, 'not_found');
  });

  it('GET /v1/model describes the served model', async () => {
    const r = await server.app.inject({ method: 'GET', url: '/v1/model' });
    const j = JSON.parse(r.body) as { model: string; type: string; tasks: string[]; fields: { name: string; kind: string; encoding: string; size: number }[]; dataHash: string };
    assert.equal(j.model, server.current().version);
    assert.equal(j.type, 'lr');
    assert.deepEqual(j.tasks, ['income']);
    assert.equal(j.fields.length, 39);
    const { name, kind, encoding, size } = j.fields[0]!;
    assert.deepEqual({ name, kind, encoding }, { name: 'age', kind: 'numeric', encoding: 'log-bucket' });
    assert.ok(size > 2, `age has ${size} embedding rows`);
    assert.equal(j.fields.find((f) => f.name === 'sex')?.kind, 'categorical');
    assert.match(j.dataHash, /^sha256:[0-9a-f]{64}$/);
  });

  it('a bearer token guards every route but the health checks', async () => {
    const guarded = createServer({ modelDir, token: 's3cret' });
    try {
      const no = await guarded.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows } });
      assert.equal(no.statusCode, 401);
      assert.equal((JSON.parse(no.body) as ErrorBody).error.code, 'unauthorized');
      const wrong = await guarded.app.inject({ method: 'GET', url: '/v1/model', headers: { authorization: 'Bearer s3cre' } });
      assert.equal(wrong.statusCode, 401);
      const metrics = await guarded.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(metrics.statusCode, 401);
      const ok = await guarded.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows }, headers: { authorization: 'Bearer s3cret' } });
      assert.equal(ok.statusCode, 200, ok.body);
      for (const url of ['/healthz', '/readyz']) assert.equal((await guarded.app.inject({ method: 'GET', url })).statusCode, 200, url);
    } finally {
      await guarded.close();
    }
  });
});
