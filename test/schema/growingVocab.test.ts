/**
 * Growing vocabularies (train.online.vocab): admission after minCount, least-recently-seen
 * eviction, the bounded candidate table, exact state round trip, and the fitted schema a model file
 * keeps (predict and serve look ids up in it as training did; unknown → OOV).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, FittedSchema, GrowingVocab, GrowingVocabularies, parseDataConfig, RowEncoder, streamSchema } from '../../src/schema/index.js';
import { Rng } from '../../src/util/random.js';

const vocab = (minCount: number, capacity: number, candidates = 100): GrowingVocab => new GrowingVocab({ minCount, capacity, candidates });
/** Each sighting in a batch of its own (see the in-batch test for sightings sharing one). */
const seeAll = (v: GrowingVocab, tokens: string): number[] => tokens.split('').map((t) => {
  v.newBatch();
  return v.see(t);
});

describe('GrowingVocab', () => {
  it('admits an id on its minCount-th sighting; before that it is OOV (0)', () => {
    const v = vocab(3, 10);
    assert.deepEqual(seeAll(v, 'aababb'), [0, 0, 0, 1, 0, 2]);
    assert.deepEqual(v.vocabulary(), ['a', 'b']);
    assert.equal(v.oov, 4);
    assert.equal(v.lookups, 6);
    assert.deepEqual(seeAll(vocab(1, 10), 'abca'), [1, 2, 3, 1]);
  });

  it('evicts the least recently seen id when full and hands its local id to the newcomer', () => {
    const v = vocab(1, 3);
    // a b c fill 1 2 3; a is seen again, so b is the least recent when d arrives, then c when e does.
    assert.deepEqual(seeAll(v, 'abcad'), [1, 2, 3, 1, 2]);
    assert.deepEqual(v.vocabulary(), ['a', 'd', 'c']);
    assert.equal(v.see('e'), 3);
    assert.deepEqual(v.vocabulary(), ['a', 'd', 'e']);
    assert.equal(v.evictions, 2);
    // An evicted id starts over: with minCount 1 it is admitted again, evicting a (least recent now).
    assert.equal(v.see('b'), 1);
    assert.deepEqual(v.vocabulary(), ['b', 'd', 'e']);
    const twice = vocab(2, 1);
    assert.deepEqual(seeAll(twice, 'aabb'), [0, 1, 0, 1]);
    // a was evicted: its count is gone, it needs two sightings again.
    assert.deepEqual(seeAll(twice, 'aa'), [0, 1]);
  });

  it('counts at most `candidates` ids, forgetting the least recently seen', () => {
    const v = vocab(2, 10, 2);
    // x is forgotten when z arrives, so its second sighting counts as its first (and y goes).
    assert.deepEqual(seeAll(v, 'xyzx'), [0, 0, 0, 0]);
    assert.equal(v.forgotten, 2);
    assert.equal(v.pendingSize, 2);
    // z and x are the candidates left, one sighting each: the next one admits them.
    assert.deepEqual(seeAll(v, 'zxy'), [1, 2, 0]);
  });

  it('never evicts an id seen in the current batch: the newcomer waits for a later batch, keeping its count', () => {
    const v = vocab(2, 2);
    v.newBatch();
    // One batch: a and b admitted on their second sighting fill the table; c reaches its count but
    // every admitted id was seen in this batch, so c stays OOV instead of taking a's row.
    assert.deepEqual(['a', 'a', 'b', 'b', 'c', 'c', 'a'].map((t) => v.see(t)), [0, 1, 0, 2, 0, 0, 1]);
    assert.equal(v.deferred, 1);
    v.newBatch();
    // Next batch: c's count carried over, so one sighting admits it, evicting b (the least recent).
    assert.deepEqual(['c', 'b'].map((t) => v.see(t)), [2, 0]);
    assert.deepEqual(v.vocabulary(), ['a', 'c']);
    // b was evicted (count 1 again); its second sighting evicts a, last seen in the batch before.
    assert.equal(v.see('b'), 1);
    assert.deepEqual(v.vocabulary(), ['b', 'c']);
    assert.equal(v.deferred, 1);
  });

  it('takeAdmitted lists each local id given to a new id once, ascending, with its latest admission serial', () => {
    const v = vocab(1, 2);
    seeAll(v, 'ab');
    assert.deepEqual(v.takeAdmitted(), { ids: [1, 2], serials: [0, 1] });
    assert.deepEqual(v.takeAdmitted(), { ids: [], serials: [] });
    seeAll(v, 'cde'); // c → 1, d → 2, e → 1 (c is least recent)
    assert.deepEqual(v.takeAdmitted(), { ids: [1, 2], serials: [4, 3] });
  });

  it('its state round-trips exactly: a resumed vocabulary decides as the uninterrupted one', () => {
    const rng = new Rng(7);
    const tokens = Array.from({ length: 5000 }, () => String(Math.floor(rng.uniform() ** 3 * 300)));
    const opts = { minCount: 2, capacity: 30, candidates: 50 };
    // Batches of 100 sightings; a checkpoint falls between two.
    const feed = (v: GrowingVocab, from: number, to: number): number[] => tokens.slice(from, to).map((t, i) => {
      if ((from + i) % 100 === 0) v.newBatch();
      return v.see(t);
    });
    const whole = new GrowingVocab(opts);
    const ids = feed(whole, 0, tokens.length);
    const first = new GrowingVocab(opts);
    feed(first, 0, 2500);
    const resumed = new GrowingVocab(opts);
    resumed.load(JSON.parse(JSON.stringify(first.toJSON())), 'ckpt');
    assert.deepEqual(feed(resumed, 2500, tokens.length), ids.slice(2500));
    assert.deepEqual(resumed.toJSON(), whole.toJSON());
    assert.ok(whole.evictions > 0 && whole.forgotten > 0 && whole.deferred > 0, `the stream exercises eviction, forgetting and deferral: ${JSON.stringify({ ...whole.toJSON(), admitted: [], candidates: [] })}`);
    assert.throws(() => new GrowingVocab({ ...opts, capacity: 10 }).load(whole.toJSON(), 'ckpt'), (e: Error) => e instanceof ConfigError && /ckpt: 30 admitted ids .* capacity 10/.test(e.message));
    assert.throws(() => vocab(1, 5).load({ ...whole.toJSON(), admitted: [['a', 1], ['b', 1]], candidates: [] }, 'ckpt'), /local ids 1…n once each/);
    assert.throws(() => vocab(1, 5).load({ ...whole.toJSON(), admitted: [['a', 1], ['a', 2]], candidates: [] }, 'ckpt'), /a token is listed twice/);
  });
});

describe('GrowingVocabularies in a stream schema', () => {
  const data = parseDataConfig({
    source: { format: 'csv', path: 'x.csv' }, labels: [{ name: 'click' }],
    fields: [
      { name: 'site', kind: 'categorical' }, { name: 'app', kind: 'categorical', hashBuckets: 8 },
      { name: 'n', kind: 'numeric', transform: 'log-bucket' }, { name: 'seq', kind: 'sequence', hashBuckets: 4 },
    ],
  }, 'c.yaml');

  it('gives each growing field capacity + 1 rows; the others hash as before', () => {
    const fitted = streamSchema(data, 16, 'c.yaml', 'train.online.hashBuckets', { minCount: 2, capacity: 5, fields: ['site'] });
    assert.deepEqual(fitted.spec.fields.map((f) => [f.name, f.kind]), [['site', 'vocab'], ['app', 'hash'], ['n', 'hash']]);
    assert.deepEqual([...fitted.fieldSizes], [6, 8, 16]);
    const all = streamSchema(data, undefined, 'c.yaml', 'train.online.hashBuckets', { minCount: 2, capacity: 5 });
    assert.deepEqual([...all.fieldSizes], [6, 8, 6]);
  });

  it('the snapshot is the fitted schema predict and serve encode with: admitted tokens at their rows, anything else OOV', () => {
    const fitted = streamSchema(data, undefined, 'c.yaml', 'train.online.hashBuckets', { minCount: 1, capacity: 2 });
    const vocabs = new GrowingVocabularies(fitted, 10);
    const row = (site: string, n: number) => ({ fieldRaw: [site, 'x', n], fieldLocal: [0, 0, 0] });
    const coder = vocabs.coder({ field: () => -1, token: () => -1 });
    // One row per batch.
    const trained = [['a', 1], ['b', 1000], ['c', 1], ['a', 1]].map(([s, n]) => {
      vocabs.newBatch();
      return [coder.field(0, row(s as string, n as number) as never), coder.field(2, row(s as string, n as number) as never)];
    });
    // site: a 1, b 2, c evicts a (1), a evicts b (2); n: bucket of 1 → 1, of 1000 → 2.
    assert.deepEqual(trained, [[1, 3 + 8 + 1], [2, 3 + 8 + 2], [1, 3 + 8 + 1], [2, 3 + 8 + 1]]);
    const saved = FittedSchema.fromJSON(JSON.parse(JSON.stringify(vocabs.snapshot().toJSON())));
    assert.deepEqual(saved.spec.fields[0], { ...fitted.spec.fields[0], vocabulary: ['c', 'a'] });
    assert.equal(saved.numIds, fitted.numIds);
    const enc = new RowEncoder(saved);
    for (const r of [['a', 'x', 1, ''], ['c', 'x', 1000, ''], ['b', 'x', 7, '']]) enc.push(r, 'request', 1);
    const ids = enc.take().ids;
    // a and c as training left them; b was evicted and 7's bucket never admitted: the OOV rows (0 and 11).
    assert.deepEqual([ids[0], ids[2], ids[3], ids[5], ids[6], ids[8]], [2, 11 + 1, 1, 11 + 2, 0, 11]);
    assert.throws(() => FittedSchema.fromJSON({ ...saved.toJSON(), fields: [{ ...saved.toJSON().fields[0], capacity: 1 }, ...saved.toJSON().fields.slice(1)] }),
      (e: Error) => e instanceof ConfigError && /a vocabulary longer than its capacity/.test(e.message));
  });

  it('takeAdmitted gives global rows and per-row seeds; state by field name round-trips', () => {
    const fitted = streamSchema(data, 16, 'c.yaml', 'train.online.hashBuckets', { minCount: 1, capacity: 2, fields: ['site', 'n'] });
    const vocabs = new GrowingVocabularies(fitted, 10);
    const coder = vocabs.coder({ field: () => -1, token: () => -1 });
    coder.field(0, { fieldRaw: ['a', 'x', 3] } as never);
    coder.field(2, { fieldRaw: ['a', 'x', 3] } as never);
    const { rows, seeds } = vocabs.takeAdmitted(5);
    assert.deepEqual([...rows], [1, 3 + 8 + 1]);
    assert.notEqual(seeds[0], seeds[1]);
    const again = new GrowingVocabularies(fitted, 10);
    again.load(JSON.parse(JSON.stringify(vocabs.toJSON())), 'ckpt');
    assert.deepEqual(again.toJSON(), vocabs.toJSON());
    assert.throws(() => again.load({ site: vocabs.toJSON().site }, 'ckpt'), /ckpt: no growing vocabulary of field n/);
    assert.deepEqual(vocabs.stats(), { admitted: 2, capacity: 4, candidates: 0, admissions: 2, evictions: 0, forgotten: 0, deferred: 0, occupancy: 0.5, oovShare: 0 });
  });
});
