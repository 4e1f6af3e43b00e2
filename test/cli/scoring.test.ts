/**
 * End to end through the CLI on a small generated log: train, then eval / predict / data inspect
 * on a later, headerless slice of it; what predict writes (input lines, group ids) and says; the
 * drift check against the model; and every unusable path as a one-line user error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir = '';

interface Run { code: number | null; out: string; err: string }

function ctrkit(...args: string[]): Run {
  // A timeout: the old recursive mkdir spun forever on some paths, and a test must fail rather than hang.
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A user error: exit 1 (the usage code), one stderr line, no stack trace, no "internal error". */
function fails(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit ${r.code}, stderr: ${r.err}`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `expected a one-line error, got:\n${r.err}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.err, /internal error|\n\s+at /);
}

function ok(r: Run): Run {
  assert.equal(r.code, 0, `exit ${r.code}, stderr: ${r.err}`);
  return r;
}

/** Lists of 10 rows (query q<k>); c2's tokens drift: x0..x30 in the first 2000 rows, x20..x60 after. */
function logRows(): string[] {
  let s = 7;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const c1 = 'abcdefgh'[Math.floor(rand() * 8)]!;
    const c2 = `x${i < 2000 ? Math.floor(rand() * 31) : 20 + Math.floor(rand() * 41)}`;
    const y = rand() < (c1 === 'a' || c1 === 'b' ? 0.4 : 0.08) ? 1 : 0;
    rows.push(`q${Math.floor(i / 10)},${c1},${c2},${y}`);
  }
  return rows;
}

const CONFIG = `data:
  source: { format: csv, path: train.csv }
  labels:
    - { name: click, column: label }
  group: query
  fields:
    - { name: c1, kind: categorical }
    - { name: c2, kind: categorical }
model: { type: lr }
train: { epochs: 2, batchSize: 64, seed: 1, optimizer: { type: adam, lr: 0.01 }, validationMetric: auc }
output: out
`;

describe('ctrkit train / eval / predict / data inspect on a later, headerless slice', () => {
  let summary: Record<string, unknown>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-scoring-'));
    const rows = logRows();
    writeFileSync(join(dir, 'train.csv'), `query,c1,c2,label\n${rows.slice(0, 2000).join('\n')}\n`);
    writeFileSync(join(dir, 'later.csv'), `${rows.slice(2000).join('\n')}\n`);
    writeFileSync(join(dir, 'later-header.csv'), `query,c1,c2,label\n${rows.slice(2000, 2010).join('\n')}\nq999,broken\n${rows.slice(2010, 2030).join('\n')}\n`);
    writeFileSync(join(dir, 'exp.yaml'), CONFIG);
    writeFileSync(join(dir, 'a-file'), 'not a directory\n');
    summary = JSON.parse(ok(ctrkit('train', 'exp.yaml', '-q')).out) as Record<string, unknown>;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("train's summary names the log, the checkpoints, the backend and threads; the manifest records them", () => {
    assert.equal(summary.log, join(dir, 'out', 'log.jsonl'));
    assert.equal(summary.checkpoints, join(dir, 'out', 'checkpoints'));
    assert.ok(existsSync(summary.log as string) && existsSync(summary.checkpoints as string));
    const backend = process.env.CTRKIT_BACKEND === 'reference' ? 'reference' : summary.backend;
    assert.ok(backend === 'native' || backend === 'reference', String(summary.backend));
    assert.ok(Number.isInteger(summary.threads) && (summary.threads as number) >= 1);
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'model', 'manifest.json'), 'utf8')) as { provenance: Record<string, unknown> };
    assert.equal(manifest.provenance.backend, summary.backend);
    assert.equal(manifest.provenance.threads, summary.threads);
  });

  it('eval and predict read a headerless slice with the training columns, and say so; --no-header forces it', () => {
    const e = ok(ctrkit('eval', '-m', 'out/model', '-i', 'later.csv'));
    const o = JSON.parse(e.out) as { rows: number; auc: number; oov: { mean: number; max: number; max_field: string } };
    assert.equal(o.rows, 1000); // no row lost to a header
    assert.ok(o.auc > 0.6, `auc ${o.auc}`);
    assert.match(e.err, /later\.csv has no header line; read with the training file's columns/);
    // c2: tokens x31..x60 were never seen (about 30 of 41 values); c1's 8 tokens all were.
    assert.equal(o.oov.max_field, 'c2');
    assert.ok(o.oov.max > 0.6 && o.oov.max < 0.85, `c2 oov ${o.oov.max}`);
    assert.ok(Math.abs(o.oov.mean - o.oov.max / 2) < 1e-12);
    assert.match(e.err, /OOV\): .* at most \d+\.\d % \(c2\)/);
    const forced = JSON.parse(ok(ctrkit('eval', '-m', 'out/model', '-i', 'later.csv', '--no-header')).out) as { rows: number; auc: number };
    assert.deepEqual([forced.rows, forced.auc], [o.rows, o.auc]);
    // A file with its header is read as before.
    const h = ok(ctrkit('eval', '-m', 'out/model', '-i', 'later-header.csv', '--on-bad-line', 'skip'));
    assert.doesNotMatch(h.err, /no header line/);
  });

  it('predict writes the input line and the real group id, and says what it wrote where', () => {
    const r = ok(ctrkit('predict', '-m', 'out/model', '-i', 'later-header.csv', '--on-bad-line', 'skip', '-o', 'preds.csv'));
    const lines = readFileSync(join(dir, 'preds.csv'), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'line,score,label,group');
    assert.equal(lines.length, 1 + 30);
    const col = (k: number): string[] => lines.slice(1).map((l) => l.split(',')[k]!);
    // Line 12 is the malformed one: output row 11 is input line 13.
    assert.deepEqual(col(0).slice(9, 12), ['11', '13', '14']);
    assert.deepEqual([...new Set(col(3))], ['q200', 'q201', 'q202']);
    assert.match(r.err, /ctrkit predict: wrote 30 rows \(line, score, label, group\) to preds\.csv; 1 malformed line skipped/);
    const m = ok(ctrkit('metrics', '-i', 'preds.csv'));
    assert.equal((JSON.parse(m.out) as { groups: number }).groups, 3);
  });

  it('data inspect -m reports OOV against the model, where --schema (refit on the file) reports none', () => {
    const r = ok(ctrkit('data', 'inspect', 'later.csv', '-m', 'out/model', '--json'));
    const o = JSON.parse(r.out) as { rows: number; header: boolean; fields: { name: string; oovShare: number | null; vocabulary?: number }[] };
    assert.equal(o.rows, 1000);
    assert.equal(o.header, false);
    const c2 = o.fields.find((f) => f.name === 'c2')!;
    const e = JSON.parse(ok(ctrkit('eval', '-m', 'out/model', '-i', 'later.csv')).out) as { oov: { max: number } };
    assert.equal(c2.oovShare, e.oov.max);
    assert.equal(c2.vocabulary, 31);
    assert.equal(o.fields.find((f) => f.name === 'c1')!.oovShare, 0);
    writeFileSync(join(dir, 'later-h.csv'), `query,c1,c2,label\n${readFileSync(join(dir, 'later.csv'), 'utf8')}`);
    const refit = JSON.parse(ok(ctrkit('data', 'inspect', 'later-h.csv', '--schema', 'exp.yaml', '--json')).out) as { fields: { name: string; oovShare: number }[] };
    assert.ok(refit.fields.find((f) => f.name === 'c2')!.oovShare < 0.1);
    const text = ok(ctrkit('data', 'inspect', 'later.csv', '-m', 'out/model')).out;
    assert.match(text, /^header\s+none \(training columns\)$/m);
    assert.match(text, /^c2\s+id\s+\d+\s+31\s+\d+\.\d\d%\s+0\.00%$/m);
  });

  it('data inspect without a model warns when the header line looks like data', () => {
    const r = ok(ctrkit('data', 'inspect', 'later.csv', '--label', '0'));
    assert.match(r.err, /warning: later\.csv:1: the header line looks like data: 1 of its 4 names are numbers \("0"\).*--no-header --columns/);
    assert.doesNotMatch(ok(ctrkit('data', 'inspect', 'train.csv', '--label', 'label')).err, /looks like data/);
  });

  it('unusable input and output paths are one-line user errors naming the path', () => {
    mkdirSync(join(dir, 'adir'), { recursive: true });
    fails(ctrkit('predict', '-m', 'out/model', '-i', 'later.csv', '-o', 'adir'), /^ctrkit: adir: is a directory, expected an output file name$/);
    fails(ctrkit('predict', '-m', 'out/model', '-i', 'later.csv', '-o', 'missing/p.csv'), /^ctrkit: missing\/p\.csv: its directory .*missing does not exist$/);
    fails(ctrkit('predict', '-m', 'out/model', '-i', 'later.csv', '-o', 'a-file/p.csv'), /^ctrkit: a-file\/p\.csv: cannot write: .*a-file is a file, not a directory$/);
    fails(ctrkit('predict', '-m', 'out/model', '-i', 'adir'), /^ctrkit: adir: is a directory, expected a data file$/);
    fails(ctrkit('eval', '-m', 'out/model', '-i', 'adir'), /^ctrkit: adir: is a directory, expected a data file$/);
    fails(ctrkit('data', 'inspect', 'adir', '--format', 'csv'), /^ctrkit: adir: is a directory, expected a data file$/);
    fails(ctrkit('train', 'exp.yaml', '-q', '-o', 'a-file/run'),
      /^ctrkit: .*a-file\/run: cannot create the directory: a component of the path is not a directory \(.*a-file is a file\)$/);
  });

  it('train -o where mkdir fails although the parent exists ends with an error (Node\'s recursive mkdir spins forever there)', { skip: existsSync('/proc/self') ? undefined : 'needs /proc' }, () => {
    fails(ctrkit('train', 'exp.yaml', '-q', '-o', '/proc/ctrkit-run/x'), /^ctrkit: \/proc\/ctrkit-run\/x: cannot create the directory: no such file or directory \(at \/proc\/ctrkit-run\)$/);
  });

  it("a missing data file is named, with where the shared folder is expected when the path goes through it", () => {
    writeFileSync(join(dir, 'shared.yaml'), CONFIG.replace('path: train.csv', 'path: ../no-such-shared/shared/data/x.csv'));
    fails(ctrkit('train', 'shared.yaml', '-q'),
      /^ctrkit: .*shared\.yaml: data file .*no-such-shared\/shared\/data\/x\.csv does not exist; the shared data folder is expected at .*no-such-shared\/shared: run from the repository root .*CTRKIT_SHARED_DATA/);
    writeFileSync(join(dir, 'plain.yaml'), CONFIG.replace('path: train.csv', 'path: gone.csv'));
    fails(ctrkit('train', 'plain.yaml', '-q'), /^ctrkit: .*plain\.yaml: data file .*gone\.csv does not exist$/);
  });
});

const AVAZU = 'avazu_head9k/avazu_train_head8999.csv.gz';

describe('drift check on a later slice of Avazu (shared data)', { skip: skipWithoutSharedData(AVAZU) }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-drift-'));
    const [header, ...rows] = gunzipSync(readFileSync(join(sharedDataDir(), AVAZU))).toString('utf8').trim().split('\n');
    writeFileSync(join(dir, 'first.csv'), `${header}\n${rows.slice(0, 6000).join('\n')}\n`);
    // A later slice as `tail` cuts it: no header.
    writeFileSync(join(dir, 'later.csv'), `${rows.slice(6000).join('\n')}\n`);
    const example = readFileSync(join(packageRoot(), 'examples', 'avazu.yaml'), 'utf8')
      .replace(/path: [^ }]+/, 'path: first.csv')
      .replace(/^model:.*$/m, 'model: { type: lr }')
      .replace(/^train:.*$/m, 'train: { epochs: 1, batchSize: 256, seed: 1, optimizer: { type: adam, lr: 0.01 } }')
      .replace(/^output:.*$/m, 'output: out');
    writeFileSync(join(dir, 'avazu.yaml'), example);
    ok(ctrkit('train', 'avazu.yaml', '-q'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('data inspect -m: the ids the model never saw; eval reports the same worst field', () => {
    const r = ok(ctrkit('data', 'inspect', 'later.csv', '-m', 'out/model', '--json'));
    const o = JSON.parse(r.out) as { rows: number; header: boolean; fields: { name: string; oovShare: number | null }[] };
    assert.equal(o.rows, 2999);
    assert.equal(o.header, false);
    const oov = Object.fromEntries(o.fields.map((f) => [f.name, f.oovShare!]));
    // Per-user / per-device ids are mostly new in a later slice; the ad slot layout is not.
    assert.ok(oov.device_ip! > 0.5, `device_ip ${oov.device_ip}`);
    assert.ok(oov.device_id! > 0.05, `device_id ${oov.device_id}`);
    assert.ok(oov.banner_pos! < 0.01, `banner_pos ${oov.banner_pos}`);
    const worst = o.fields.reduce((a, b) => (b.oovShare! > a.oovShare! ? b : a));
    const e = JSON.parse(ok(ctrkit('eval', '-m', 'out/model', '-i', 'later.csv')).out) as { oov: { max: number; max_field: string } };
    assert.deepEqual([e.oov.max_field, e.oov.max], [worst.name, worst.oovShare]);
  });
});
