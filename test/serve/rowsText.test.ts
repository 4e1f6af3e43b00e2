/**
 * The predict body read from its text (src/serve/rowsText.ts, readPredictText): what it accepts it
 * reads as JSON.parse + readPredictBody do (same encoded columns), what it does not accept goes to
 * that reader (same errors), and no body, however mangled, makes the server answer 5xx.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanRows } from '../../src/serve/rowsText.js';
import { idCoders, parseJsonBody, readPredictBody, readPredictText, RequestError } from '../../src/serve/request.js';
import { hashChars, VocabTable } from '../../src/serve/vocabTable.js';
import { loadSnapshot, type ModelSnapshot } from '../../src/serve/snapshot.js';
import { createServer } from '../../src/serve/server.js';
import { FittedSchema, RowEncoder, type SchemaSpec, type StoredColumns } from '../../src/schema/index.js';
import { featureInfo } from '../../src/serve/snapshot.js';
import type { RawValue } from '../../src/data/prep/field.js';
import { saveTinyModel } from './tiny.js';

const MAX_ROWS = 8;

/** Rows of the tiny schema as a client writes them: every value a string, a number or null. */
function plainRow(i: number): Record<string, string | number | null> {
  return {
    user: i % 3 === 0 ? i : `u${i}`, city: [null, 'paris', 'rome', 'lima', 'Zürich ✓'][i % 5]!, price: [(i * 7) % 150, '12', -0.5, 1e3, null][i % 5]!,
    x: [i / 10 - 1, '3.25', -0, 2.5e-7, null][i % 5]!, items: ['a|b', '', 'zz|c', null, 'b'][i % 5]!,
  };
}

type Outcome = { columns: StoredColumns } | { error: unknown } | { fault: string };

function outcome(read: () => StoredColumns): Outcome {
  try {
    return { columns: read() };
  } catch (e) {
    return e instanceof RequestError ? { error: e.toJSON() } : { fault: String(e) };
  }
}

/** Stored columns as plain arrays (typed arrays compared value by value, -0 distinct from 0). */
function plain(c: StoredColumns): unknown {
  return JSON.parse(JSON.stringify(c, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array, (x) => (Object.is(x, -0) ? '-0' : x)) : v)));
}

describe('serve: predict bodies read from their text', () => {
  let dir: string;
  let snap: ModelSnapshot;
  const index = (): ReadonlyMap<string, number> => new Map(snap.features.map((f, i) => [f.name, i]));
  const scan = (text: string) => scanRows(text, index(), snap.features.length, MAX_ROWS);
  /** Both readers on `text`; asserts they agree and returns what they gave. */
  const bothReaders = (text: string): Outcome => {
    const viaText = outcome(() => readPredictText(text, snap.features, snap.encoder, MAX_ROWS));
    const viaJson = outcome(() => readPredictBody(parseJsonBody(text), snap.features, snap.encoder, MAX_ROWS));
    const show = (o: Outcome): unknown => ('columns' in o ? plain(o.columns) : o);
    assert.deepEqual(show(viaText), show(viaJson), `body ${JSON.stringify(text)}`);
    assert.ok(!('fault' in viaText), `body ${JSON.stringify(text)}: ${JSON.stringify(viaText)}`);
    return viaText;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-rows-text-'));
    saveTinyModel(join(dir, 'm'), 3);
    snap = loadSnapshot(join(dir, 'm'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads plain rows as JSON.parse does (strings, numbers, null, any key order, whitespace, context)', () => {
    const rows = Array.from({ length: MAX_ROWS }, (_, i) => plainRow(i));
    const { items: _drop, ...noItems } = rows[0]!;
    const reordered = rows.map((r) => Object.fromEntries(Object.entries(r).reverse()));
    const bodies = [
      JSON.stringify({ rows }),
      JSON.stringify({ rows }, null, 2).replace(/\n/g, '\r\n\t'),
      JSON.stringify({ rows: [rows[0], reordered[1], rows[2]] }),
      JSON.stringify({ context: { items: 'a|c' }, rows: rows.map(({ items: _i, ...r }) => r) }),
      JSON.stringify({ rows: [noItems], context: { items: null } }),
      JSON.stringify({ rows: [rows[1]], context: {} }),
      '{"rows":[{"user":"u","city":"rome","price":-12.5E+1,"x":0.000,"items":"a"},{"user":-0,"city":"","price":0e0,"x":-0,"items":"a|b|c|d"}]}',
    ];
    for (const text of bodies) {
      const scanned = scan(text);
      assert.ok(scanned !== undefined, `not read from the text: ${text}`);
      const json = JSON.parse(text) as { rows: Record<string, unknown>[]; context?: Record<string, unknown> };
      for (const [name, i] of index()) {
        if (json.context !== undefined && name in json.context) continue;
        assert.deepEqual(Array.from(scanned.columns[i] as RawValue[], (v) => (Object.is(v, -0) ? '-0' : v)), json.rows.map((r) => (r[name] === null ? '' : Object.is(r[name], -0) ? '-0' : r[name])), `${name} of ${text}`);
      }
      const got = bothReaders(text);
      assert.ok('columns' in got, JSON.stringify(got));
    }
  });

  it('leaves to JSON.parse every body it does not read (the same answer either way)', () => {
    const good = JSON.stringify({ rows: [plainRow(1), plainRow(2)] });
    const bodies = [
      '', '  ', 'null', '[]', '{}', '{"rows":[]}', '{"rows":{}}', '{"rows":[1]}', '{"rows":[{}]}', '{"rowz":[]}', good.slice(0, -1), `${good}x`, `${good},`,
      good.replace('"u1"', '"u\\u0031"'), good.replace('"u1"', '"u\\n1"'), good.replace('"u1"', '"u\t1"'), good.replace('"u1"', '["u1"]'), good.replace('"u1"', 'true'),
      good.replace('"u1"', '{"a":1}'), good.replace('"u1"', '01'), good.replace('"u1"', '1.'), good.replace('"u1"', '.5'), good.replace('"u1"', '+1'), good.replace('"u1"', '-'),
      good.replace('"u1"', '1e999'), good.replace('"u1"', 'NaN'), good.replace('"u1"', 'Infinity'), good.replace('"u1"', 'nul'),
      good.replace('"city"', '"colour"'), good.replace('"city"', '"__proto__"'), good.replace('"city":"paris",', ''), good.replace('"city":"paris"', '"city":"paris","city":"rome"'),
      good.replace('"city":"paris"', '"city":"paris","extra":1'), good.replace('"city":"rome"', '"city":"rome","colour":1'), good.replace('"city":"rome",', ''),
      good.replace('"items":"zz|c"', '"items":["zz","c"]'),
      `{"rows":${JSON.stringify([plainRow(1)])},"rows":${JSON.stringify([plainRow(2)])}}`, `{"rows":[],"context":{}}`,
      JSON.stringify({ rows: [plainRow(1)], extra: 1 }), JSON.stringify({ rows: [plainRow(1)], columns: {} }), JSON.stringify({ rows: [plainRow(1)], context: [] }), '{"rows":[],"context":{"a":1,"a":2}}',
      JSON.stringify({ rows: Array.from({ length: MAX_ROWS + 1 }, (_, i) => plainRow(i)) }),
      JSON.stringify({ columns: { user: ['a'], city: ['rome'], price: [1], x: [2], items: ['a'] } }),
    ];
    for (const text of bodies) {
      assert.equal(scan(text), undefined, `read from the text: ${JSON.stringify(text)}`);
      bothReaders(text);
    }
    // Read from the text, but refused by the encoder or the context check: the error is JSON.parse's reader's.
    for (const text of [good.replace('"price":"12"', '"price":"old"'), good.replace('"x":"3.25"', '"x":"NaN"'),
      JSON.stringify({ rows: [plainRow(1)], context: { city: 'rome' } }), JSON.stringify({ rows: [plainRow(1)], context: { colour: 'rome' } })]) {
      assert.notEqual(scan(text), undefined, text);
      const got = bothReaders(text);
      assert.ok('error' in got, JSON.stringify(got));
    }
  });

  it('mangled bodies: the same columns or the same 400 as JSON.parse + readPredictBody, never a fault', () => {
    const base = JSON.stringify({ rows: Array.from({ length: 4 }, (_, i) => plainRow(i)), context: {} });
    const alphabet = '{}[]",:0123456789-+.eEnul \\tr\u00e9';
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    let read = 0;
    let rejected = 0;
    for (let k = 0; k < 3000; k++) {
      let text = base;
      for (let m = 0, edits = 1 + rand(3); m < edits; m++) {
        const at = rand(text.length);
        const op = rand(3);
        const ch = alphabet[rand(alphabet.length)]!;
        text = op === 0 ? text.slice(0, at) + text.slice(at + 1) : op === 1 ? text.slice(0, at) + ch + text.slice(at) : text.slice(0, at) + ch + text.slice(at + 1);
      }
      if ('columns' in bothReaders(text)) read++;
      else rejected++;
    }
    // Both kinds occur: the mutations reach values (still scorable) and structure (400s).
    assert.ok(read > 100 && rejected > 100, `${read} read, ${rejected} rejected`);
  });

  it('over HTTP: mangled bodies are 400s, good ones score as their JSON twins', async () => {
    const server = createServer({ modelDir: join(dir, 'm'), maxRows: MAX_ROWS, scoreThread: false });
    try {
      const post = (payload: string) => server.app.inject({ method: 'POST', url: '/v1/predict', payload, headers: { 'content-type': 'application/json' } });
      const rows = Array.from({ length: 5 }, (_, i) => plainRow(i));
      const text = JSON.stringify({ rows });
      const viaText = await post(text);
      // The same rows, but with an array token list: read by JSON.parse + readPredictBody.
      const viaJson = await post(JSON.stringify({ rows: rows.map((r) => ({ ...r, items: r.items === null ? null : String(r.items).split('|').filter((t) => t !== '') })) }));
      assert.equal(viaText.statusCode, 200, viaText.body);
      assert.equal(viaText.body, viaJson.body);
      for (let k = 0; k < 300; k++) {
        const r = await post(text.slice(0, (k * 7919) % text.length) + text.slice(((k * 7919) % text.length) + 1 + (k % 3)));
        assert.ok(r.statusCode === 200 || r.statusCode === 400, `${r.statusCode} ${r.body}`);
      }
      assert.equal((await server.app.inject({ method: 'POST', url: '/v1/predict' })).statusCode, 400);
      assert.equal((await post(text)).body, viaText.body);
    } finally {
      await server.close();
    }
  });
});

describe('serve: VocabTable', () => {
  it('answers what the fitted schema\'s Map answers, for every token, duplicates, "" and unknown text', () => {
    const vocabulary = ['', 'a', 'ab', 'ba', 'Zürich ✓', 'a', 'x'.repeat(40), ...Array.from({ length: 3000 }, (_, i) => (i * 2654435761 >>> 0).toString(36))];
    const map = new Map(vocabulary.map((t, i) => [t, i + 1]));
    const table = new VocabTable(vocabulary);
    const probes = [...vocabulary, 'b', 'abc', 'x'.repeat(39), 'Zürich', 'A', ...Array.from({ length: 500 }, (_, i) => `q${i}`)];
    for (const t of probes) {
      // Looked up inside a longer text, as the rows reader does.
      const text = `{"k":"${t}"}`;
      assert.equal(table.find(text, 6, 6 + t.length, hashChars(text, 6, 6 + t.length)), map.get(t) ?? 0, JSON.stringify(t));
    }
    assert.equal(table.find('', 0, 0, hashChars('', 0, 0)), 1);
  });

  it('a served model\'s vocabulary fields are coded as they are read, to the ids the encoder gives', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-vocab-table-'));
    try {
      saveTinyModel(join(dir, 'm'), 4);
      const snap = loadSnapshot(join(dir, 'm'));
      const city = snap.features.findIndex((f) => f.name === 'city');
      const rows = ['paris', 'oslo', null, 'lima', '', 7, -0.5, 'rome'].map((c, i) => ({ user: `u${i}`, city: c, price: i, x: i, items: 'a' }));
      const text = JSON.stringify({ rows });
      const viaText = readPredictText(text, snap.features, snap.encoder, 100);
      const viaJson = readPredictBody(JSON.parse(text), snap.features, snap.encoder, 100);
      assert.deepEqual(viaText, viaJson);
      // The city column was coded by the reader (not read as text and coded by the encoder).
      const scanned = scanRows(text, new Map(snap.features.map((f, i) => [f.name, i])), snap.features.length, 100, idCoders(snap.encoder.fitted));
      assert.ok(scanned?.columns[city] instanceof Int32Array);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve: log-bucket fields read from the text', () => {
  it('integer text, numbers, null and other text code as the encoder codes them (also from a memo of seen values)', () => {
    const spec: SchemaSpec = {
      labels: [],
      fields: [
        { name: 'n', column: 'n', privileged: false, kind: 'vocab', logBucket: true, minCount: 1, vocabulary: ['0', '1', '2', '4', '5', '6', '-1', '', '7', '12', '1.5'] },
        { name: 'c', column: 'c', privileged: false, kind: 'vocab', logBucket: false, minCount: 1, vocabulary: ['a', '', '3'] },
      ],
      dense: [],
      sequences: [],
    };
    const fitted = new FittedSchema(spec);
    const encoder = new RowEncoder(fitted);
    const features = featureInfo(spec, fitted);
    const values = ['0', '00', '007', '1', '2', '3', '20', '1000', '4095', '4096', '99999999999999', '123456789012345', '1234567890123456', '-1', '-5', '+3',
      '1.5', '1e3', '', ' 7', null, 3, -0, 2.5, 1e300, 0.1, 7];
    // Twice: the second time digit strings come from the memo.
    for (let pass = 0; pass < 2; pass++) {
      const rows = values.map((n, i) => ({ n, c: i % 2 === 0 ? String(n) : n }));
      const text = JSON.stringify({ rows });
      assert.notEqual(scanRows(text, new Map(features.map((f, i) => [f.name, i])), 2, 100, idCoders(fitted)), undefined);
      const viaText = readPredictText(text, features, encoder, 100);
      assert.deepEqual(viaText, readPredictBody(JSON.parse(text), features, encoder, 100));
      // And each value alone, as the encoder codes a single row.
      values.forEach((n, r) => assert.equal(viaText.codes[2 * r], encoder.encodeColumns([[n === null ? '' : n], 'a'], 1, 'x').codes[0], JSON.stringify(n)));
    }
    // Text a log-bucket field refuses: the JSON reader's error.
    const bad = JSON.stringify({ rows: [{ n: '12', c: 'a' }, { n: 'old', c: 'a' }] });
    assert.throws(() => readPredictText(bad, features, encoder, 100), (e: unknown) => e instanceof RequestError && e.row === 1 && e.field === 'n');
  });
});
