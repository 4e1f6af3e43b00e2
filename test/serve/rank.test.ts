/**
 * POST /v1/rank: a two-tower model scores request rows against the item vectors of an items file,
 * bit for bit what TwoTower.scoreWithItemVectors gives, and within float32 rounding of /v1/predict
 * on the same (user, item) rows; the vectors are recomputed with every reloaded snapshot.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endStep, noGrad } from '../../src/autograd/tape.js';
import { RowGatherer } from '../../src/data/batching.js';
import { itemVectorsOfFile } from '../../src/experiment/itemVectors.js';
import { loadScoringModel, probabilityMap } from '../../src/experiment/scoring.js';
import { publishDirAtomic } from '../../src/io/atomic.js';
import { MANIFEST_FILE, WEIGHTS_FILE } from '../../src/io/modelFile.js';
import { TwoTower } from '../../src/models/twoTower.js';
import { ConfigError } from '../../src/schema/errors.js';
import { RowEncoder } from '../../src/schema/index.js';
import { MAX_RANK_PAIRS } from '../../src/serve/rank.js';
import { createServer, type CtrkitServer } from '../../src/serve/server.js';
import { loadSnapshot } from '../../src/serve/snapshot.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { spawnSync } from 'node:child_process';
import { censusColumns, censusPrefix, cli, requestRow, SHORT_TRAIN, trainCensus } from './census.js';
import { answerOfThreadDeath } from './tiny.js';

const ITEM_FIELDS = ['class_worker', 'det_ind_code', 'det_occ_code', 'major_ind_code', 'major_occ_code'];

/** The census fields in groups: the item fields above, year as display context, the rest the user. */
function withGroups(yaml: string): string {
  return yaml.replace(/- \{ name: (\w+), kind:/g, (_m, name: string) =>
    `- { name: ${name}, group: ${ITEM_FIELDS.includes(name) ? 'item' : name === 'year' ? 'ctx' : 'user'}, kind:`);
}

const TWO_TOWER = (outDim: number): string =>
  `{ type: twotower, dim: 4, user: [user], item: [item], bias: [ctx], towerHidden: [8], outDim: ${outDim}, biasHidden: [4] }`;

function publishCopy(src: string, dst: string): void {
  publishDirAtomic(dst, (tmp) => {
    for (const f of [MANIFEST_FILE, WEIGHTS_FILE]) copyFileSync(join(src, f), join(tmp, f));
  });
}

/** Probabilities of `rows` × all items by the model itself: scoreWithItemVectors and the model's probability map. */
async function reference(modelDir: string, itemsFile: string, rows: Record<string, string>[]): Promise<number[][]> {
  const { model, manifest, fitted } = loadScoringModel(modelDir);
  assert.ok(model instanceof TwoTower);
  const v = await itemVectorsOfFile(modelDir, itemsFile, { labels: true });
  const enc = new RowEncoder(fitted);
  const names = loadSnapshot(modelDir).features.map((f) => f.name);
  rows.forEach((r, i) => enc.push(names.map((n) => r[n] ?? ''), 'ref', i));
  const ds = enc.take();
  let logits = new Float32Array(0);
  model.eval();
  noGrad(() => {
    const batch = new RowGatherer(ds).gather(Int32Array.from({ length: ds.numRows }, (_, i) => i), 0, ds.numRows);
    logits = model.scoreWithItemVectors(batch, new Tensor(v.vectors, [v.lines.length, v.dim])).data.slice();
    endStep();
  });
  const p = probabilityMap(manifest).apply(logits);
  const n = v.lines.length;
  return rows.map((_, i) => Array.from(p.subarray(i * n, (i + 1) * n)));
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (const end = Date.now() + 10_000; !(await cond());) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('serve: POST /v1/rank (two-tower item vectors)', () => {
  let dir: string;
  let modelA: string;
  let modelB: string;
  let modelLR: string;
  let itemsFile: string;
  let itemRows: Record<string, string>[];
  let users: Record<string, string>[];
  let allFields: string[];
  const servers: CtrkitServer[] = [];
  const NUM_ITEMS = 25;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-rank-'));
    const data = censusPrefix(dir, 1500);
    modelA = await trainCensus(join(dir, 'a'), data.file, TWO_TOWER(4), SHORT_TRAIN, withGroups);
    modelB = await trainCensus(join(dir, 'b'), data.file, TWO_TOWER(3), SHORT_TRAIN, withGroups);
    modelLR = await trainCensus(join(dir, 'lr'), data.file, '{ type: lr }', SHORT_TRAIN, withGroups);
    itemsFile = join(dir, 'items.csv');
    const itemLines = data.lines.slice(100, 100 + NUM_ITEMS);
    writeFileSync(itemsFile, itemLines.join('\n') + '\n');
    allFields = loadSnapshot(modelA).features.map((f) => f.name);
    itemRows = itemLines.map((l) => requestRow(l, censusColumns(), ITEM_FIELDS));
    const userFields = allFields.filter((f) => !ITEM_FIELDS.includes(f));
    users = data.lines.slice(0, 8).map((l) => requestRow(l, censusColumns(), userFields));
  });
  after(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function serve(modelDir: string): CtrkitServer {
    const server = createServer({ modelDir, items: itemsFile, itemsHaveLabels: true, scoreThread: true, reload: { watch: false, pollMs: 0 } });
    servers.push(server);
    return server;
  }

  async function post(server: CtrkitServer, url: string, payload: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await server.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
    return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
  }

  it('is bit-identical to scoreWithItemVectors and within float32 rounding of /v1/predict', async () => {
    const server = serve(modelA);
    await server.ready();
    const r = await post(server, '/v1/rank', { rows: users });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.model, loadSnapshot(modelA).version);
    assert.deepEqual(r.body.items, Array.from({ length: NUM_ITEMS }, (_, i) => i));
    const scores = r.body.scores as number[][];
    assert.deepEqual(scores, await reference(modelA, itemsFile, users));

    // /v1/predict on every (user, item) pair: the full forward pass sums the dot product in its own order.
    const pairs = users.flatMap((u) => itemRows.map((it) => ({ ...u, ...it })));
    const p = await post(server, '/v1/predict', { rows: pairs });
    assert.equal(p.status, 200);
    const predicted = p.body.scores as number[];
    let worst = 0;
    users.forEach((_, i) => itemRows.forEach((_, j) => {
      worst = Math.max(worst, Math.abs(scores[i]![j]! - predicted[i * NUM_ITEMS + j]!));
    }));
    assert.ok(worst <= 1e-6, `largest |rank − predict| ${worst}`);
    assert.ok(new Set(scores[0]).size > 1, 'items score differently');
  });

  it('a rank request while predict rows wait for their batch: each is scored on its own rows', async () => {
    // The predict rows sit in the snapshot's batch encoder for 300 ms; the rank request meanwhile must not take them.
    // Predict batches go to the scoring thread, rank's are scored on the event loop: both call kernels.
    const server = createServer({ modelDir: modelA, items: itemsFile, itemsHaveLabels: true, scoreThread: true, reload: { watch: false, pollMs: 0 }, batch: { maxWaitMs: 300, idleWaitMs: 300 } });
    servers.push(server);
    await server.ready();
    const pairs = users.slice(0, 3).map((u, i) => ({ ...u, ...itemRows[i]! }));
    const alone = (await post(server, '/v1/predict', { rows: pairs })).body.scores;
    const pending = post(server, '/v1/predict', { rows: pairs });
    const ranked = await post(server, '/v1/rank', { rows: users });
    assert.equal(ranked.status, 200, JSON.stringify(ranked.body));
    assert.deepEqual(ranked.body.scores, await reference(modelA, itemsFile, users));
    const predicted = await pending;
    assert.equal(predicted.status, 200, JSON.stringify(predicted.body));
    assert.deepEqual(predicted.body.scores, alone);
  });

  it('is scored on the scoring thread (the event loop holds no weights), bit for bit as on the event loop; a thread death is a 503, then a new thread', async () => {
    const threaded = serve(modelA);
    await threaded.ready();
    const onLoop = createServer({ modelDir: modelA, items: itemsFile, itemsHaveLabels: true, scoreThread: false, reload: { watch: false, pollMs: 0 } });
    servers.push(onLoop);
    await onLoop.ready();
    const bodies = [{ rows: users }, { rows: users.slice(0, 3), items: [4, 1, 4] }, { rows: users.slice(2, 7), top: 3 }];
    for (const b of bodies) {
      const there = await post(threaded, '/v1/rank', b);
      assert.equal(there.status, 200, JSON.stringify(there.body));
      assert.deepEqual(there.body, (await post(onLoop, '/v1/rank', b)).body);
    }
    // Scored, and no weights on the event loop: the thread scored them.
    assert.equal(threaded.current().loaded, undefined);
    assert.notEqual(onLoop.current().loaded, undefined);
    assert.equal(threaded.scoring!.where(), 'thread');

    // A death with a rank batch in the thread: 503, never a hang; the next request is scored by a new thread.
    const many = { rows: Array.from({ length: 40 }, () => users).flat() };
    const failed = await answerOfThreadDeath(threaded.scoring!, () => post(threaded, '/v1/rank', many), (r) => r.status === 200, 3);
    assert.ok(failed !== undefined, 'no rank batch was in the thread when it stopped');
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.deepEqual((await post(threaded, '/v1/rank', bodies[0])).body, (await post(onLoop, '/v1/rank', bodies[0])).body);
    assert.equal(threaded.current().loaded, undefined);

    // Past the restart limit: the event loop loads the weights, computes the item vectors and ranks, with the same answers.
    while (threaded.scoring!.where() === 'thread') {
      await threaded.scoring!.restart();
      assert.equal((await post(threaded, '/v1/rank', bodies[1])).status, 200);
    }
    assert.notEqual(threaded.current().loaded, undefined);
    for (const b of bodies) assert.deepEqual((await post(threaded, '/v1/rank', b)).body, (await post(onLoop, '/v1/rank', b)).body);
  });

  it('coalesces concurrent rank requests into one batch; each gets what it gets alone', async () => {
    const solo = serve(modelA);
    const bodies = [{ rows: users.slice(0, 3) }, { rows: users.slice(3, 4), items: [4, 1] }, { rows: users.slice(4, 8), top: 2 }, { rows: [] }];
    const alone: unknown[] = [];
    for (const b of bodies) alone.push((await post(solo, '/v1/rank', b)).body);
    const server = createServer({ modelDir: modelA, items: itemsFile, itemsHaveLabels: true, reload: { watch: false, pollMs: 0 }, batch: { maxWaitMs: 200, idleWaitMs: 200 } });
    servers.push(server);
    await server.ready();
    const together = await Promise.all(bodies.map((b) => post(server, '/v1/rank', b)));
    assert.deepEqual(together.map((r) => r.body), alone);
    const batches = (await server.metrics.batchRows.get()).values;
    assert.equal(batches.find((v) => v.metricName === 'ctrkit_serve_batch_rows_count')?.value, 1, 'one batch for the three non-empty requests');
    assert.equal(batches.find((v) => v.metricName === 'ctrkit_serve_batch_rows_sum')?.value, 8);
  });

  it('scores chosen items, in request order, and keeps the top k', async () => {
    const server = serve(modelA);
    const all = (await post(server, '/v1/rank', { rows: users.slice(0, 2) })).body.scores as number[][];
    const some = await post(server, '/v1/rank', { rows: users.slice(0, 2), items: [7, 2, 7] });
    assert.deepEqual(some.body.items, [7, 2, 7]);
    assert.deepEqual(some.body.scores, all.map((s) => [s[7], s[2], s[7]]));
    // The same rows as columns.
    const columns = Object.fromEntries(Object.keys(users[0]!).map((f) => [f, users.slice(0, 2).map((u) => u[f])]));
    assert.deepEqual((await post(server, '/v1/rank', { columns, items: [7, 2, 7] })).body, some.body);
    const top = await post(server, '/v1/rank', { rows: users.slice(0, 2), top: 3 });
    const best = all.map((s) => s.map((p, j) => ({ p, j })).sort((a, b) => b.p - a.p || a.j - b.j).slice(0, 3));
    assert.deepEqual(top.body.items, best.map((b) => b.map((x) => x.j)));
    assert.deepEqual(top.body.scores, best.map((b) => b.map((x) => x.p)));
  });

  it('answers a bad request with 400 naming the row / field / item', async () => {
    const server = serve(modelA);
    const bad = async (payload: unknown, field: string | undefined, row: number | undefined, message: RegExp): Promise<void> => {
      const r = await post(server, '/v1/rank', payload);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      const e = r.body.error as { field?: string; row?: number; message: string };
      assert.equal(e.field, field);
      assert.equal(e.row, row);
      assert.match(e.message, message);
    };
    await bad({ rows: users, items: [3, NUM_ITEMS] }, 'items[1]', undefined, new RegExp(`unknown item ${NUM_ITEMS} \\(items are the rows 0 … ${NUM_ITEMS - 1}`));
    await bad({ rows: users, items: ['x'] }, 'items[0]', undefined, /unknown item "x"/);
    await bad({ rows: users, items: 3 }, 'items', undefined, /must be an array/);
    await bad({ rows: users, top: 0 }, 'top', undefined, /positive integer/);
    await bad({ rows: [users[0], { ...users[1], det_occ_code: '3' }] }, 'det_occ_code', 1, /item feature/);
    await bad({ rows: [users[0], { ...users[1], age: 'old' }] }, 'age', 1, /number/);
    const columns = Object.fromEntries(Object.keys(users[0]!).map((f) => [f, users.map((u) => u[f])]));
    await bad({ columns: { ...columns, det_occ_code: users.map(() => '3') } }, 'det_occ_code', undefined, /item feature/);
    await bad({ columns: { ...columns, age: users.map((u, i) => (i === 2 ? 'old' : u.age)) } }, 'age', 2, /number/);
    const { year: _y, ...noYear } = users[0]!;
    await bad({ rows: [noYear] }, 'year', 0, /missing/);
    const many = new Array<number>(MAX_RANK_PAIRS / users.length + 1).fill(3);
    await bad({ rows: users, items: many }, 'rows', undefined,
      new RegExp(`field rows: ${users.length} rows × ${many.length} items is ${users.length * many.length} scores, more than ${MAX_RANK_PAIRS} per request`));
    await bad({ rows: users, k: 1 }, undefined, undefined, /unknown key "k" \(expected rows or columns, and optionally context, items, top\)/);
  });

  it('refuses --items with a model that is not two-tower; /v1/rank without --items is 404', async () => {
    assert.throws(() => createServer({ modelDir: modelLR, items: itemsFile }),
      (e: unknown) => e instanceof ConfigError && /--items needs a two-tower model \(model type twotower\); this model is 'lr'/.test(e.message));
    const plain = createServer({ modelDir: modelA, reload: { watch: false, pollMs: 0 } });
    servers.push(plain);
    const r = await post(plain, '/v1/rank', { rows: users });
    assert.equal(r.status, 404);
    assert.match((r.body.error as { message: string }).message, /--items/);
  });

  it('a bad items file fails ready() (the CLI exits at startup)', async () => {
    const broken = join(dir, 'broken.csv');
    writeFileSync(broken, 'not,a,census,line\n');
    const server = createServer({ modelDir: modelA, items: broken, itemsHaveLabels: true, reload: { watch: false, pollMs: 0 } });
    servers.push(server);
    await assert.rejects(server.ready(), /broken\.csv/);
    const r = await post(server, '/v1/rank', { rows: users });
    assert.equal(r.status, 503);
  });

  it('ctrkit serve --items: a model that is not two-tower or a bad items file is a one-line user error (exit 1)', () => {
    const lr = spawnSync('node', [cli, 'serve', '-m', modelLR, '--items', itemsFile, '--port', '0'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(lr.status, 1, lr.stderr);
    assert.equal(lr.stderr, `ctrkit: ${modelLR}: --items needs a two-tower model (model type twotower); this model is 'lr'\n`);
    const broken = join(dir, 'broken-cli.csv');
    writeFileSync(broken, 'not,a,census,line\n');
    const bad = spawnSync('node', [cli, 'serve', '-m', modelA, '--items', broken, '--items-labels', '--port', '0'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /^ctrkit: .*broken-cli\.csv.*\n$/);
    assert.equal(bad.stderr.split('\n').length, 2, bad.stderr);
  });

  it('recomputes the item vectors with a reloaded model; a model that cannot rank is rejected', async () => {
    const served = join(dir, 'served');
    publishCopy(modelA, served);
    const server = serve(served);
    const before = await post(server, '/v1/rank', { rows: users });
    assert.deepEqual(before.body.scores, await reference(modelA, itemsFile, users));

    publishCopy(modelB, served);
    assert.equal(await server.reload(), 'swapped');
    const after = await post(server, '/v1/rank', { rows: users });
    assert.equal(after.body.model, loadSnapshot(modelB).version);
    // Model B's vectors are 3 wide, A's 4: a stale table could not even be multiplied.
    assert.deepEqual(after.body.scores, await reference(modelB, itemsFile, users));

    // A rank batch waiting (300 ms) when the swap lands is scored by the old model: the thread keeps
    // it until the batch is answered (the directory holds the new one by then).
    const inflight = join(dir, 'inflight');
    publishCopy(modelA, inflight);
    const slow = createServer({ modelDir: inflight, items: itemsFile, itemsHaveLabels: true, scoreThread: true, reload: { watch: false, pollMs: 0 }, batch: { maxWaitMs: 300, idleWaitMs: 300 } });
    servers.push(slow);
    await slow.ready();
    const pending = post(slow, '/v1/rank', { rows: users });
    await until(async () => (await slow.metrics.requestRows.get()).values.some((v) => v.metricName === 'ctrkit_serve_request_rows_count' && v.value === 1));
    publishCopy(modelB, inflight);
    assert.equal(await slow.reload(), 'swapped');
    const old = await pending;
    assert.equal(old.status, 200, JSON.stringify(old.body));
    assert.equal(old.body.model, loadSnapshot(modelA).version);
    assert.deepEqual(old.body.scores, await reference(modelA, itemsFile, users));
    assert.deepEqual((await post(slow, '/v1/rank', { rows: users })).body.scores, await reference(modelB, itemsFile, users));

    publishCopy(modelLR, served);
    assert.equal(await server.reload(), 'failed');
    const still = await post(server, '/v1/rank', { rows: users });
    assert.deepEqual(still.body, after.body);
  });
});
