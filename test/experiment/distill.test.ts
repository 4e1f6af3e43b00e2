/**
 * train.distill end to end on a small synthetic CSV whose label depends mostly on a privileged
 * column: the student's model file has no privileged field and scores files without it; each
 * teacher mode trains; the two-stage teacher's scores are cached, reused and invalidated; bad
 * teacher input is refused naming the file, line / row and field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { runHash } from '../../src/experiment/grid.js';
import { teacherModelHash } from '../../src/experiment/teacher.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { predictRows } from '../../src/train/predict.js';
import { ConfigError } from '../../src/schema/index.js';
import { loadSnapshot } from '../../src/serve/snapshot.js';

let dir = '';
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Lists of 6 rows; y ~ Bernoulli(σ(2.5·priv + 0.7·b + shop effect − 1)); p_teacher = that probability. */
function writeData(file: string, rows: number, opts: { dropColumns?: string[]; seed?: number; edit?: (cells: Record<string, string>, i: number) => void } = {}): void {
  let s = opts.seed ?? 12345;
  const rnd = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const cols = ['qid', 'click', 'shop', 'b', 'priv', 'p_teacher'].filter((c) => !opts.dropColumns?.includes(c));
  const lines = [cols.join(',')];
  for (let i = 0; i < rows; i++) {
    const shop = `s${Math.floor(rnd() * 5)}`;
    const b = gauss();
    const priv = gauss();
    const p = sigmoid(2.5 * priv + 0.7 * b + (shop === 's0' ? 0.8 : 0) - 1);
    const cells: Record<string, string> = {
      qid: String(Math.floor(i / 6)), click: rnd() < p ? '1' : '0', shop, b: b.toFixed(4), priv: priv.toFixed(4), p_teacher: p.toFixed(6),
    };
    opts.edit?.(cells, i);
    lines.push(cols.map((c) => cells[c]!).join(','));
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

type Raw = { data: Record<string, unknown>; model: Record<string, unknown>; train: Record<string, unknown>; output: string };

function config(out: string, distill: Record<string, unknown> | undefined, data = 'data.csv'): Raw {
  return {
    data: {
      source: { format: 'csv', path: join(dir, data) },
      labels: [{ name: 'click' }],
      group: 'qid',
      fields: [
        { name: 'shop', kind: 'categorical', minCount: 1 },
        { name: 'b', kind: 'numeric', transform: 'standardize' },
        { name: 'priv', kind: 'numeric', transform: 'standardize', privileged: true },
      ],
    },
    model: { type: 'dnn', dim: 4, hidden: [8] },
    train: {
      epochs: 3, batchSize: 60, seed: 2, optimizer: { type: 'adam', lr: 0.01 },
      ...(distill && { distill }),
    },
    output: join(dir, out),
  };
}

async function train(raw: Raw, log?: string[]): Promise<TrainRunResult> {
  const stream = new Writable({ write(chunk, _e, cb) { log?.push(String(chunk)); cb(); } });
  return runTraining(parseExperimentConfig(raw, join(dir, 'exp.yaml'), dir), { quiet: log === undefined, stream });
}

function manifest(run: TrainRunResult): Record<string, any> {
  return JSON.parse(readFileSync(join(run.modelDir, 'manifest.json'), 'utf8')) as Record<string, any>;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctrkit-distill-'));
  writeData(join(dir, 'data.csv'), 1200);
  // The same rows without the privileged column and the teacher's scores: what a server would see.
  writeData(join(dir, 'serving.csv'), 1200, { dropColumns: ['priv', 'p_teacher'] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('train.distill: privileged features and the three teachers', () => {
  it('joint teacher + CLID: the student model file has no privileged field and scores a file without it', async () => {
    const run = await train(config('joint', { type: 'clid', teacher: { model: { type: 'dnn', dim: 4, hidden: [8] } } }));
    const m = manifest(run);
    const fitted = m.schema.fitted as { fields: { name: string }[]; dense: { name: string }[] };
    assert.deepEqual(fitted.dense.map((f) => f.name), ['b']);
    assert.deepEqual(fitted.fields.map((f) => f.name), ['shop']);
    assert.equal(m.dims.denseDim, 1);
    assert.deepEqual(m.distillation, { type: 'clid', beta: 1, teacher: { mode: 'joint', model: 'dnn' } });
    // The teacher reads the feature that decides the label: it is clearly the stronger model.
    assert.ok(m.metrics.test_teacher_auc > m.metrics.test_auc + 0.1, `teacher ${m.metrics.test_teacher_auc} vs student ${m.metrics.test_auc}`);
    assert.equal(run.test.teacher_auc, m.metrics.test_teacher_auc);
    assert.ok(run.dataset.privileged === undefined && run.dataset.denseNames!.length === 1);
    const scored = await scoreFile(run.modelDir, join(dir, 'serving.csv'), { labels: true });
    assert.equal(scored.dataset.numRows, 1200);
    const z = predictRows(run.model, run.dataset, run.split.test);
    assert.deepEqual(Array.from(scored.logits.subarray(run.split.test.start)), Array.from(z));
    // Serving asks for, and scores with, the non-privileged features only.
    const snap = loadSnapshot(run.modelDir);
    assert.deepEqual(snap.features.map((f) => f.name), ['shop', 'b']);
    snap.encoder.push(['s1', '0.25'], 'request', 0);
    const p = snap.score(snap.encoder.take(), 0, 1)[0]![0]!;
    assert.ok(p > 0 && p < 1);
  });

  it('a two-tower student of a joint DCN-v2 teacher: its feature layout has no privileged field', async () => {
    const raw = config('twotower', { type: 'pointwise', temperature: 2, teacher: { model: { type: 'dcnv2', dim: 4, hidden: [8] } } });
    raw.data.fields = [
      { name: 'shop', kind: 'categorical', minCount: 1, group: 'item' },
      { name: 'b', kind: 'numeric', transform: 'standardize', group: 'user' },
      { name: 'priv', kind: 'numeric', transform: 'standardize', privileged: true, group: 'user' },
    ];
    raw.model = { type: 'twotower', dim: 4, user: ['user'], item: ['item'], towerHidden: [8], outDim: 4 };
    const run = await train(raw);
    const m = manifest(run);
    assert.deepEqual((m.dims.features as { name: string }[]).map((f) => f.name), ['shop', 'b']);
    assert.equal(m.distillation.teacher.model, 'dcnv2');
    const scored = await scoreFile(run.modelDir, join(dir, 'serving.csv'), { labels: true });
    assert.deepEqual(Array.from(scored.logits.subarray(run.split.test.start)), Array.from(predictRows(run.model, run.dataset, run.split.test)));
  });

  it('external column teacher + pointwise KD: the manifest names the column', async () => {
    const run = await train(config('column', { type: 'pointwise', teacher: { column: 'p_teacher' } }));
    const m = manifest(run);
    assert.deepEqual(m.distillation, { type: 'pointwise', beta: 1, teacher: { mode: 'column', column: 'p_teacher' } });
    assert.deepEqual((m.schema.fitted.labels as { name: string }[]).map((l) => l.name), ['click']);
    assert.deepEqual(run.dataset.labelNames, ['click']);
    const scored = await scoreFile(run.modelDir, join(dir, 'serving.csv'), { labels: true });
    assert.equal(scored.dataset.numRows, 1200);
  });

  it('two-stage teacher: scores cached with the data, reused, invalidated when the teacher changes', async () => {
    const teacherCfg = config('teacher', undefined);
    (teacherCfg.data.fields as Record<string, unknown>[])[2]!.privileged = false;
    const teacher = await train(teacherCfg);
    const student = (): Raw => {
      const r = config('two-stage', { type: 'listnet', teacher: { model: teacher.modelDir } });
      r.data.cache = join(dir, 'cache');
      return r;
    };
    const log1: string[] = [];
    const first = await train(student(), log1);
    assert.match(log1.join(''), /teacher .* scored 1200 rows, cached in /);
    const m = manifest(first);
    assert.equal(m.distillation.teacher.mode, 'model');
    assert.equal(m.distillation.teacher.path, teacher.modelDir);
    assert.match(m.distillation.teacher.hash, /^sha256:[0-9a-f]{64}$/);
    // An experiment's run hash covers the teacher it reads: a retrained teacher makes the student stale.
    const hashNow = (): string | undefined => teacherModelHash(parseExperimentConfig(student(), join(dir, 'exp.yaml'), dir));
    assert.equal(hashNow(), m.distillation.teacher.hash);
    const runBefore = runHash(student(), 1, hashNow());
    const log2: string[] = [];
    const second = await train(student(), log2);
    assert.match(log2.join(''), /teacher scores loaded from the cache/);
    // Same teacher logits, same seed: the same student.
    assert.deepEqual(Array.from(predictRows(second.model, second.dataset, second.split.test)), Array.from(predictRows(first.model, first.dataset, first.split.test)));
    teacherCfg.train.seed = 7;
    await train(teacherCfg);
    const log3: string[] = [];
    const third = await train(student(), log3);
    assert.match(log3.join(''), /teacher .* scored 1200 rows, cached in /);
    assert.notEqual(manifest(third).distillation.teacher.hash, m.distillation.teacher.hash);
    assert.equal(hashNow(), manifest(third).distillation.teacher.hash);
    assert.notEqual(runHash(student(), 1, hashNow()), runBefore);
    assert.equal(readdirSync(join(dir, 'cache', 'teachers')).filter((f) => f.endsWith('.f32')).length, 2);
  });
});

describe('train.distill: bad input', () => {
  const refused = async (raw: Raw, pattern: RegExp): Promise<void> => {
    await assert.rejects(train(raw), (e: unknown) => {
      assert.match((e as Error).message, pattern);
      return true;
    });
  };

  it('a teacher probability outside [0, 1] or missing names the file, line and column', async () => {
    writeData(join(dir, 'bad.csv'), 60, { edit: (c, i) => { if (i === 9) c.p_teacher = '1.5'; } });
    await refused(config('bad', { type: 'pointwise', teacher: { column: 'p_teacher' } }, 'bad.csv'),
      /^bad\.csv:11: field p_teacher: teacher probability 1\.5 is outside \[0, 1\]$/);
    writeData(join(dir, 'nan.csv'), 60, { edit: (c, i) => { if (i === 3) c.p_teacher = 'NaN'; } });
    await refused(config('nan', { type: 'pointwise', teacher: { column: 'p_teacher' } }, 'nan.csv'), /^nan\.csv:5: field p_teacher: /);
  });

  it('a teacher directory whose schema does not match the data', async () => {
    writeData(join(dir, 'other.csv'), 120, { dropColumns: ['b'] });
    const t = config('wrong-teacher', undefined, 'other.csv');
    t.data.fields = [{ name: 'shop', kind: 'categorical', minCount: 1 }, { name: 'priv', kind: 'numeric' }];
    const teacher = await train(t);
    writeData(join(dir, 'nopriv.csv'), 120, { dropColumns: ['priv'] });
    const s = config('student', { type: 'pointwise', teacher: { model: teacher.modelDir } }, 'nopriv.csv');
    s.data.fields = (s.data.fields as Record<string, unknown>[]).slice(0, 2);
    await refused(s, /train\.distill\.teacher\.model: the teacher .* cannot read the data: .*priv/);
    assert.ok(existsSync(teacher.modelDir));
  });

  it('config errors: a list term without a group column, a teacher-score column the student reads, no teacher', () => {
    const bad = (raw: Raw, pattern: RegExp): void => {
      assert.throws(() => parseExperimentConfig(raw, 'bad.yaml'), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match((e as Error).message, pattern);
        return true;
      });
    };
    const noGroup = config('x', { type: 'clid', teacher: { column: 'p_teacher' } });
    delete noGroup.data.group;
    bad(noGroup, /bad\.yaml: train\.distill\.type: 'clid' distils within lists: set data\.group/);
    const reads = config('x', { type: 'pointwise', teacher: { column: 'priv' } });
    (reads.data.fields as Record<string, unknown>[])[2]!.privileged = false;
    bad(reads, /train\.distill\.teacher\.column: column priv is read by the student's field priv/);
    bad(config('x', { type: 'pointwise' }), /train\.distill\.teacher: missing/);
    bad(config('x', { type: 'pointwise', temperature: 2, lists: 'batch', teacher: { column: 'p_teacher' } }), /train\.distill\.lists: lists applies to type/);
    const mt = config('x', { type: 'pointwise', teacher: { column: 'p_teacher' } });
    mt.train.tasks = [{ name: 'click' }];
    bad(mt, /train\.distill: distillation of a multi-task run/);
    const online = config('x', { type: 'pointwise', teacher: { column: 'p_teacher' } });
    online.train.online = { hashBuckets: 64 };
    bad(online, /bad\.yaml: train\.distill: distillation of an online run \(train\.online\) is not supported/);
    const jrc = config('x', { type: 'pointwise', teacher: { column: 'p_teacher' } });
    jrc.train.loss = { type: 'jrc' };
    bad(jrc, /train\.distill: the student's term reads one logit per row; loss 'jrc' has two/);
    const random = config('x', { type: 'pointwise', teacher: { model: 'runs/t/model' } });
    random.data.split = { mode: 'random', validation: 0.1, test: 0.1 };
    bad(random, /train\.distill\.teacher\.model: a teacher directory scores the data files in file order/);
    const allPriv = config('x', { type: 'pointwise', teacher: { column: 'p_teacher' } });
    allPriv.data.fields = [{ name: 'shop', kind: 'categorical', group: 'item' }, { name: 'priv', kind: 'numeric', privileged: true, group: 'user' }];
    allPriv.model = { type: 'twotower', dim: 4, user: ['user'], item: ['item'] };
    bad(allPriv, /model\.user\[0\]: every field of group user is privileged/);
    const noIds = config('x', { type: 'pointwise', teacher: { column: 'p_teacher' } });
    noIds.data.fields = [{ name: 'shop', kind: 'categorical', privileged: true }, { name: 'b', kind: 'numeric' }];
    bad(noIds, /data\.fields: every id field \(shop\) is privileged: the student would have no embedding to read/);
  });
});
