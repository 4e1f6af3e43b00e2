import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildDataset, encodeFile, FittedSchema, parseDataConfig, withSourcePath, type DataConfig } from '../../src/schema/index.js';
import { openColumns } from '../../src/schema/source.js';
import type { EventSplit } from '../../src/data/events/sequences.js';
import { DataFormatError } from '../../src/data/readers/errors.js';
import { ConfigError } from '../../src/schema/errors.js';
import { tempFiles } from './helpers.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

/*
 * `source.format: events`: behaviour-sequence examples from an event log. Every item of the small
 * log is distinct, so a history that holds the event's own item, or any event at or after its
 * time, is visible by name.
 */

const LOG = [
  'user,item,cat,beh,time',
  'u1,a,c1,pv,10',
  'u1,b,c1,pv,20',
  'u1,c,c2,buy,20', // same time as b: neither sees the other
  'u1,d,c2,pv,30',
  'u1,e,c3,pv,40',
  'u2,f,c1,pv,5',
  'u2,g,c3,pv,15',
  'u2,h,c2,cart,25',
  'u2,i,c1,fav,35',
].join('\n');

type Obj = Record<string, unknown>;

function source(over: Obj = {}): Obj {
  return {
    format: 'events', path: 'log.csv', user: 'user', item: 'item', time: 'time', itemColumns: ['cat'],
    examples: 'positive', negatives: { perPositive: 1, seed: 7 },
    history: { columns: { hist_item: 'item', hist_cat: 'cat' }, maxLength: 3 },
    ...over,
  };
}

function config(src: Obj = {}, over: Obj = {}): DataConfig {
  return parseDataConfig({
    source: source(src),
    split: { mode: 'last', validation: 1, test: 1 },
    labels: [{ name: 'click', column: 'label' }],
    group: 'user',
    workers: 0,
    fields: [
      { name: 'user', kind: 'categorical', minCount: 1 },
      { name: 'item', kind: 'categorical', minCount: 1, required: true },
      { name: 'cat', kind: 'categorical', minCount: 1 },
      { name: 'hist_item', kind: 'sequence', vocab: 'item' },
      { name: 'hist_cat', kind: 'sequence', vocab: 'cat' },
    ],
    ...over,
  }, 'test.yaml');
}

interface Row { user: string; item: string; cat: string; label: number; hist: string[]; histCat: string[]; time: number; line: number; part: number | undefined }

/** The source's rows as raw values (what the schema then encodes). */
async function rows(cfg: DataConfig, dir: string, file = 'log.csv', split?: EventSplit): Promise<Row[]> {
  const cols = ['user', 'item', 'cat', 'label', 'hist_item', 'hist_cat', 'time'];
  const src = await openColumns(cfg.source, join(dir, file), dir, cols.map((c) => ({ column: c, usedBy: `field ${c}` })), { workers: 0 }, split);
  const out: Row[] = [];
  const list = (v: unknown): string[] => (String(v) === '' ? [] : String(v).split('|'));
  for await (const { values: v, line, part } of src) {
    out.push({ user: String(v[0]), item: String(v[1]), cat: String(v[2]), label: Number(v[3]), hist: list(v[4]), histCat: list(v[5]), time: Number(v[6]), line, part });
  }
  return out;
}

/** item -> time of its event in LOG-shaped text (every item once). */
function eventTimes(text: string): Map<string, number> {
  const lines = text.split('\n').slice(1);
  return new Map(lines.map((l) => { const f = l.split(','); return [f[1]!, Number(f[4])]; }));
}

describe('event logs: behaviour-sequence examples', () => {
  it('a history holds only events strictly before its example: never the event itself, nor one at the same time', async () => {
    const dir = tempFiles({ 'log.csv': LOG });
    const out = await rows(config(), dir);
    const times = eventTimes(LOG);
    const positives = out.filter((r) => r.label === 1);
    assert.equal(positives.length, 9);
    for (const r of out) {
      if (r.label === 1) assert.ok(!r.hist.includes(r.item), `row of line ${r.line}: its own item ${r.item} is in its history ${r.hist}`);
      for (const h of r.hist) assert.ok(times.get(h)! < r.time, `row of line ${r.line} (time ${r.time}) sees ${h} at ${times.get(h)}`);
    }
    // b and c share time 20: both see a only; d sees a, b, c; e keeps the 3 most recent of a..d.
    const hist = Object.fromEntries(positives.map((r) => [r.item, r.hist.join(' ')]));
    assert.deepEqual(hist, { a: '', b: 'a', c: 'a', d: 'a b c', e: 'b c d', f: '', g: 'f', h: 'f g', i: 'f g h' });
    // The category history runs alongside, from the same events.
    assert.deepEqual(positives.find((r) => r.item === 'e')!.histCat, ['c1', 'c2', 'c2']);
  });

  it('history.maxLength keeps the most recent events; minHistory drops early examples but not their events', async () => {
    const dir = tempFiles({ 'log.csv': LOG });
    const out = await rows(config({ history: { columns: { hist_item: 'item', hist_cat: 'cat' }, maxLength: 2 }, minHistory: 2 }), dir);
    const hist = Object.fromEntries(out.filter((r) => r.label === 1).map((r) => [r.item, r.hist.join(' ')]));
    assert.deepEqual(hist, { d: 'b c', e: 'c d', h: 'f g', i: 'g h' });
  });

  it('negatives: seeded, never the positive item, only items first seen strictly before the event, with their own attributes', async () => {
    const dir = tempFiles({ 'log.csv': LOG });
    const times = eventTimes(LOG);
    const catOf = new Map(LOG.split('\n').slice(1).map((l) => [l.split(',')[1]!, l.split(',')[2]!]));
    const cfg = config({ negatives: { perPositive: 2, seed: 7 } });
    const a = await rows(cfg, dir);
    const b = await rows(cfg, dir);
    assert.deepEqual(a, b, 'same seed, same rows');
    const other = await rows(config({ negatives: { perPositive: 2, seed: 8 } }), dir);
    assert.notDeepEqual(other.map((r) => r.item), a.map((r) => r.item), 'another seed draws other negatives');
    for (const [i, r] of a.entries()) {
      if (r.label === 1) continue;
      const pos = a.slice(0, i).reverse().find((p) => p.label === 1)!;
      assert.notEqual(r.item, pos.item);
      assert.equal(r.line, pos.line);
      assert.deepEqual(r.hist, pos.hist, 'a negative shares its positive\'s history');
      assert.ok(times.get(r.item)! < r.time, `negative ${r.item} (first seen ${times.get(r.item)}) for an event at ${r.time}`);
      assert.equal(r.cat, catOf.get(r.item));
    }
    // f (time 5) has no earlier item: no negative. a (10) has one candidate (f), b (20) has f, a, g (not c at 20 itself).
    const negsOf = (item: string): string[] => {
      const k = a.findIndex((r) => r.label === 1 && r.item === item);
      const out: string[] = [];
      for (let j = k + 1; j < a.length && a[j]!.label === 0; j++) out.push(a[j]!.item);
      return out;
    };
    assert.deepEqual(negsOf('f'), []);
    assert.deepEqual(negsOf('a'), ['f']);
    assert.ok(negsOf('b').every((x) => ['f', 'a', 'g'].includes(x)) && negsOf('b').length === 2);
  });

  it('history and target share one id space: the same item has the same id in both', async () => {
    const dir = tempFiles({ 'log.csv': LOG });
    const cfg = config({}, { split: { mode: 'file-order', train: [1, 1], fit: [1, 1] } });
    const { dataset: ds, fitted } = await buildDataset(cfg, dir);
    const j = fitted.spec.fields.findIndex((f) => f.name === 'item');
    assert.equal(fitted.sequenceOffsets[0], fitted.fieldOffsets[j]);
    const vocab = fitted.spec.fields[j]!;
    const id = (tok: string): number => fitted.fieldOffsets[j]! + 1 + (vocab.kind === 'vocab' ? vocab.vocabulary.indexOf(tok) : -1);
    const seq = ds.sequences![0]!;
    const out = await rows(config(), dir);
    assert.equal(ds.numRows, out.length);
    for (let r = 0; r < ds.numRows; r++) {
      assert.equal(ds.ids[r * ds.numFields + j], id(out[r]!.item));
      assert.deepEqual([...seq.ids.subarray(seq.offsets[r]!, seq.offsets[r + 1]!)], out[r]!.hist.map(id));
    }
    // predict / eval: the saved schema encodes another log (here the same one) into the same rows.
    const again = await encodeFile(FittedSchema.fromJSON(JSON.parse(JSON.stringify(fitted.toJSON()))), withSourcePath(cfg.source, join(dir, 'log.csv')));
    assert.deepEqual([...again.dataset.ids], [...ds.ids]);
    assert.deepEqual([...again.dataset.sequences![1]!.ids], [...ds.sequences![1]!.ids]);
  });

  it('split mode last: each user\'s last example events are test, the ones before validation; negatives follow their positive', async () => {
    const dir = tempFiles({ 'log.csv': LOG });
    const cfg = config();
    const { dataset: ds, split } = await buildDataset(cfg, dir);
    // u1: a b c d e, u2: f g h i. Test: e, i (+ negatives); validation: d, h.
    const out = await rows(cfg, dir, 'log.csv', { mode: 'last', validation: 1, test: 1 });
    const part = Object.fromEntries(out.filter((r) => r.label === 1).map((r) => [r.item, r.part]));
    assert.deepEqual(part, { a: 0, b: 0, c: 0, d: 1, e: 2, f: 0, g: 0, h: 1, i: 2 });
    const count = (p: number): number => out.filter((r) => r.part === p).length;
    assert.deepEqual([split.fit.end, split.validation.end - split.validation.start, split.test.end - split.test.start], [count(0), count(1), count(2)]);
    // Rows are reordered fit, validation, test; each user's rows of one part are one list.
    assert.deepEqual([...ds.groupOffsets!], [0, 6, 9, 11, 13, 15, 17]);
  });

  it('split mode time: a global cut on the event time', async () => {
    const dir = tempFiles({ 'log.csv': LOG });
    const out = await rows(config(), dir, 'log.csv', { mode: 'time', validation: 25, test: 35 });
    for (const r of out) assert.equal(r.part, r.time >= 35 ? 2 : r.time >= 25 ? 1 : 0);
    const { split } = await buildDataset(config({}, { split: { mode: 'time', validation: 25, test: 35 } }), dir);
    assert.equal(split.test.end - split.test.start, out.filter((r) => r.time >= 35).length);
  });

  it('examples: all labels every event by the positive rule; history.include: positive lists only positive events', async () => {
    const dir = tempFiles({ 'log.csv': LOG });
    const cfg = config({ examples: 'all', negatives: undefined, positive: { column: 'beh', oneOf: ['buy', 'cart', 'fav'] },
      history: { columns: { hist_item: 'item', hist_cat: 'cat' }, maxLength: 5, include: 'positive' } });
    const out = await rows(cfg, dir);
    assert.deepEqual(out.map((r) => `${r.item}${r.label}:${r.hist.join('')}`), ['a0:', 'b0:', 'c1:', 'd0:c', 'e0:c', 'f0:', 'g0:', 'h1:', 'i1:h']);
  });

  it('order: sort reads a shuffled log as the grouped one (ties keep the log order)', async () => {
    const lines = LOG.split('\n');
    const shuffled = [lines[0], lines[6], lines[3], lines[9], lines[1], lines[8], lines[2], lines[5], lines[4], lines[7]].join('\n');
    const dir = tempFiles({ 'log.csv': LOG, 'shuffled.csv': shuffled });
    const sorted = await rows(config({ path: 'shuffled.csv', order: 'sort' }), dir, 'shuffled.csv');
    // b and c tie at time 20; in the shuffled file c comes first, so it stays first.
    const hist = sorted.filter((r) => r.label === 1).map((r) => `${r.item}:${r.hist.join('')}`);
    assert.deepEqual(hist, ['a:', 'c:a', 'b:a', 'd:acb', 'e:cbd', 'f:', 'g:f', 'h:fg', 'i:fgh']);
    // Rows report their line in the file as given.
    assert.deepEqual(sorted.filter((r) => r.label === 1).map((r) => r.line), [5, 3, 7, 9, 8, 2, 10, 6, 4]);
  });

  it('bad logs are errors naming file, line and field; onBadLine skip drops and counts the event', async () => {
    const bad = (text: string): string => tempFiles({ 'log.csv': text });
    const head = 'user,item,cat,beh,time\nu1,a,c1,pv,10\n';
    const cases: [string, RegExp][] = [
      [`${head}u1,b,c1,pv,5\n`, /^log\.csv:3: field time: time 5 is before the previous event of user "u1" \(10, line 2\)/],
      [`${head}u2,b,c1,pv,20\nu1,c,c1,pv,30\n`, /^log\.csv:4: field user: user "u1" reappears after other users \(its events start on line 2\)/],
      [`${head}u1,b,c1,pv,soon\n`, /^log\.csv:3: field time: expected a number, got "soon"/],
      [`${head}u1,,c1,pv,20\n`, /^log\.csv:3: field item: item is missing/],
      [`${head}u1,b|x,c1,pv,20\n`, /^log\.csv:3: field item: value "b\|x" contains the history separator/],
    ];
    for (const [text, re] of cases) {
      await assert.rejects(buildDataset(config(), bad(text)), (e: unknown) => e instanceof DataFormatError && re.test(e.message), re.source);
    }
    const dir = bad(`${head}u1,b,c1,pv,20\nu1,x,c1,pv,5\nu1,c,c1,pv,30\n`);
    const { stats } = await buildDataset(config(), dir, { onBadLine: 'skip' });
    assert.equal(stats.skippedLines, 1);
    assert.match(stats.skippedExamples[0]!, /^log\.csv:4: field time/);
  });

  it('config errors name the key', () => {
    const err = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof ConfigError && re.test(e.message), re.source);
    err(() => config({ negatives: undefined }), /data\.source\.negatives: examples: positive gives only positive rows/);
    err(() => config({ examples: 'all', negatives: undefined }), /data\.source\.positive: examples: all labels each event/);
    err(() => config({ history: { columns: { item: 'item' }, maxLength: 3 } }), /data\.source\.history\.columns\.item: history column "item" would hide/);
    err(() => parseDataConfig({ source: { format: 'csv', path: 'x.csv' }, split: { mode: 'last' }, labels: [{ name: 'y' }], fields: [{ name: 'a', kind: 'categorical' }] }, 'test.yaml'),
      /data\.split\.mode: split mode last needs source format events/);
    err(() => config({}, { split: { mode: 'time', validation: 30, test: 20 } }), /data\.split\.validation: validation must not be after test/);
    err(() => config({}, { fields: [{ name: 'item', kind: 'categorical' }, { name: 'hist_item', kind: 'sequence', vocab: 'item', separator: ';' }] }),
      /data\.source\.history\.separator: field hist_item reads history hist_item .* separator ";"/);
  });
});

describe('event logs from ../shared/data', () => {
  const taobao = 'taobao_userbehavior_head/UserBehavior_head_users_part1.csv.gz';
  it('Taobao UserBehavior (first 2,000 events): no history holds its event or a later one; negatives existed before', { skip: skipWithoutSharedData(taobao) }, async () => {
    const text = gunzipSync(readFileSync(join(sharedDataDir(), taobao))).toString('utf8').split('\n').slice(0, 2000).join('\n');
    const dir = tempFiles({ 'ub.csv': text });
    const events = text.split('\n').map((l) => l.split(','));
    const firstSeen = new Map<string, number>();
    for (const [, item, , , t] of events) firstSeen.set(item!, Math.min(firstSeen.get(item!) ?? Infinity, Number(t)));
    const cfg = config({ path: 'ub.csv', header: false, columns: ['user', 'item', 'cat', 'beh', 'time'],
      positive: { column: 'beh', oneOf: ['pv', 'buy', 'cart', 'fav'] }, history: { columns: { hist_item: 'item', hist_cat: 'cat' }, maxLength: 50 } });
    const out = await rows(cfg, dir, 'ub.csv');
    // Expected histories recomputed from the log by brute force: the user's events strictly earlier, last 50.
    for (const r of out) {
      const ev = events[r.line - 1]!;
      assert.equal(ev[0], r.user);
      const before = events.filter((e) => e[0] === r.user && Number(e[4]) < r.time).map((e) => e[1]!);
      assert.deepEqual(r.hist, before.slice(-50), `line ${r.line}`);
      if (r.label === 1) assert.equal(r.item, ev[1]);
      else assert.ok(firstSeen.get(r.item)! < r.time && r.item !== ev[1], `negative ${r.item} at line ${r.line}`);
    }
    assert.equal(out.filter((r) => r.label === 1).length, 2000);
  });

  const ml = 'movielens_100k/u.data.gz';
  it('MovieLens-100k (first 3,000 ratings, unsorted): label = rating >= 4, history = earlier liked movies', { skip: skipWithoutSharedData(ml) }, async () => {
    const text = gunzipSync(readFileSync(join(sharedDataDir(), ml))).toString('utf8').split('\n').slice(0, 3000).join('\n');
    const dir = tempFiles({ 'u.data': text });
    const events = text.split('\n').map((l) => l.split('\t'));
    const cfg = config({ path: 'u.data', header: false, columns: ['user', 'item', 'rating', 'time'], delimiter: '\t', order: 'sort', itemColumns: [],
      examples: 'all', negatives: undefined, positive: { column: 'rating', atLeast: 4 }, history: { columns: { hist_item: 'item' }, maxLength: 50, include: 'positive' } },
    { fields: [{ name: 'item', kind: 'categorical' }, { name: 'hist_item', kind: 'sequence', vocab: 'item' }] });
    const src = await openColumns(cfg.source, join(dir, 'u.data'), dir, ['user', 'item', 'label', 'hist_item', 'time'].map((c) => ({ column: c, usedBy: c })), { workers: 0 });
    let n = 0;
    let prev = { user: -1, time: -1 };
    for await (const { values: v, line } of src) {
      const ev = events[line - 1]!;
      assert.equal(v[2], Number(ev[2]) >= 4 ? 1 : 0);
      const hist = String(v[3]) === '' ? [] : String(v[3]).split('|');
      const expect = events.filter((e) => e[0] === ev[0] && Number(e[3]) < Number(ev[3]) && Number(e[2]) >= 4)
        .sort((x, y) => Number(x[3]) - Number(y[3])).map((e) => e[1]!);
      assert.deepEqual(hist, expect.slice(-50), `line ${line}`);
      const cur = { user: Number(v[0]), time: Number(v[4]) };
      assert.ok(cur.user > prev.user || (cur.user === prev.user && cur.time >= prev.time), 'sorted by user, then time');
      prev = cur;
      n++;
    }
    assert.equal(n, 3000);
  });
});
