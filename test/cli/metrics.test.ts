/** End to end: spawn the built `ctrkit` binary on temporary CSVs and check stdout, stderr and exit code. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir = '';

interface Run { code: number | null; out: string; err: string }

function ctrkit(...args: string[]): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function csv(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

/** Successful run: exactly one JSON object on stdout. */
function json(r: Run): Record<string, unknown> {
  assert.equal(r.code, 0, `exit ${r.code}, stderr: ${r.err}`);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line of JSON, got: ${r.out}`);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

/** Failed run: non-zero exit, a single stderr line with no stack trace, matching `pattern`. */
function fails(r: Run, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  assert.equal(r.out, '');
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `expected a one-line error, got:\n${r.err}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

const near = (a: unknown, e: number, tol = 1e-12): void =>
  assert.ok(typeof a === 'number' && Math.abs(a - e) < tol, `got ${String(a)}, expected ${e}`);

describe('ctrkit metrics (end to end)', () => {
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints auc, logloss, ece, ece_freq and rows as one JSON object', () => {
    const f = csv('basic.csv', 'label,score\n0,0.1\n0,0.4\n1,0.35\n1,0.8\n');
    const o = json(ctrkit('metrics', '--input', f));
    assert.deepEqual(Object.keys(o).sort(), ['auc', 'ece', 'ece_freq', 'logloss', 'rows']);
    assert.equal(o.rows, 4);
    near(o.auc, 0.75);
    near(o.logloss, -(Math.log(0.9) + Math.log(0.6) + Math.log(0.35) + Math.log(0.8)) / 4);
    // every row alone in its equal-width bin (1, 4, 3, 8): (0.1 + 0.4 + 0.65 + 0.2) / 4
    near(o.ece, 1.35 / 4);
    // 4 rows in 10 equal-frequency bins: row i → bin ⌊10 (i + ½) / 4⌋ = 1, 3, 6, 8, again one row each
    near(o.ece_freq, 1.35 / 4);
  });

  it('with a group column adds ece_list and ndcg@10', () => {
    // a: (0, 0.1) (1, 0.9); b: (1, 0.5) (0, 0.6) (0, 0.4); c: (0, 0.3) — every list shorter than K = 10,
    // so each row is its own bucket: a (0.1 + 0.1)/2, b (0.4 + 0.5 + 0.6)/3, c 0.3 → ece_list = (0.1 + 0.5 + 0.3)/3
    // ndcg@10: a 1; b ranks 0.6 (0), 0.5 (1), 0.4 (0) → 1/log2 3; c has no positive and is left out
    const f = csv('lists.csv', 'group,label,score\na,0,0.1\na,1,0.9\nb,1,0.5\nb,0,0.6\nb,0,0.4\nc,0,0.3\n');
    const o = json(ctrkit('metrics', '-i', f));
    near(o.ece_list, 0.9 / 3);
    near(o['ndcg@10'], (1 + 1 / Math.log2(3)) / 2);
    // equal-width: gaps 0.1, 0.1, 0.5, 0.6, 0.4, 0.3, each in its own bin → 2.0 / 6
    near(o.ece, 2 / 6);

    const none = ctrkit('metrics', '-i', csv('nopos.csv', 'group,label,score\na,0,0.1\nb,0,0.2\n'));
    const on = json(none);
    assert.equal(on['ndcg@10'], null);
    assert.match(none.err, /warning: nopos\.csv: ndcg: undefined, none of the 2 groups has a positive label/);
  });

  it('graded labels (LTR): ndcg@10 with gain 2^label - 1, the binary-only metrics refused', () => {
    // q1 ranks 2.5 (label 2), 1.0 (0), -0.5 (1): DCG = 3 + 1/log2 4 = 3.5; IDCG = 3 + 1/log2 3.
    // q2 ranks 0.9 (1), 0.2 (3): DCG = 1 + 7/log2 3; IDCG = 7 + 1/log2 3. Scores need not be probabilities.
    const f = csv('graded.csv', 'group,label,score\nq1,2,2.5\nq1,0,1.0\nq1,1,-0.5\nq2,1,0.9\nq2,3,0.2\n');
    const r = ctrkit('metrics', '-i', f);
    const o = json(r);
    const q1 = 3.5 / (3 + 1 / Math.log2(3));
    const q2 = (1 + 7 / Math.log2(3)) / (7 + 1 / Math.log2(3));
    near(o['ndcg@10'], (q1 + q2) / 2);
    assert.equal(o.labels, 'graded');
    assert.deepEqual(o.refused, ['auc', 'logloss', 'ece', 'ece_freq', 'gauc', 'ece_list']);
    for (const k of o.refused as string[]) assert.ok(!(k in o), `${k} must not be reported for graded labels`);
    assert.match(r.err, /graded\.csv: graded labels \(e\.g\. 2 at line 2\): ndcg@10 only .*auc, logloss, ece, ece_freq, gauc, ece_list need 0\/1 labels/);
  });

  it('takes columns in any order, ignores extras, adds gauc with groups and weights everything', () => {
    // groups: a → AUC 1 (2 rows); b → pos 0.5 vs 0.6 ✗, vs 0.4 ✓ = 0.5 (3 rows); c single class
    const f = csv('groups.csv', [
      'extra,group,score,label',
      'x,a,0.1,0', 'x,a,0.9,1', 'x,b,0.5,1', 'x,b,0.6,0', 'x,b,0.4,0', 'x,c,0.3,1', 'x,c,0.7,1', '',
    ].join('\n'));
    const o = json(ctrkit('metrics', '-i', f));
    near(o.gauc, 3.5 / 5);
    assert.equal(o.groups, 3);
    assert.equal(o.gaucGroups, 2);

    const w = csv('weighted.csv', 'weight,label,score,group\n1,0,0.1,a\n1,1,0.9,a\n2,1,0.5,b\n1,0,0.6,b\n1,0,0.4,b\n');
    const ow = json(ctrkit('metrics', '-i', w));
    near(ow.gauc, (2 * 1 + 4 * 0.5) / 6);
    near(ow.logloss, -(Math.log(0.9) + Math.log(0.9) + 2 * Math.log(0.5) + Math.log(0.4) + Math.log(0.6)) / 6);
  });

  it('reads CRLF files with a BOM, quoted fields, padded values and any header case', () => {
    const f = csv('crlf.csv', '\ufeffLabel,Score,Group\r\n0,0.1,"a,b"\r\n1,0.9,"a,b"\r\n1, 0.3 ,c\r\n0,0.5,c\r\n');
    const o = json(ctrkit('metrics', '-i', f));
    near(o.auc, 0.75);
    near(o.gauc, 0.5);
    assert.equal(o.groups, 2);
  });

  it('matches the scikit-learn fixture on a weighted, grouped, tied case', () => {
    const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/metrics_sklearn.json', import.meta.url), 'utf8')) as
      { cases: { name: string; labels: number[]; scores: number[]; weights: number[] | null; groups: number[] | null;
        auc: number; logloss: number; gauc: number }[] };
    const c = fx.cases.find((k) => k.weights !== null && k.groups !== null && /decimals=1/.test(k.name))!;
    // String(number) round-trips float64 exactly, so the CLI sees the fixture's values bit for bit.
    const body = c.labels.map((y, i) => `${c.groups![i]},${c.weights![i]},${c.scores[i]},${y}`).join('\n');
    const o = json(ctrkit('metrics', '--input', csv('fixture.csv', `group,weight,score,label\n${body}\n`)));
    near(o.auc, c.auc, 1e-9);
    near(o.logloss, c.logloss, 1e-9);
    near(o.gauc, c.gauc, 1e-9);
    assert.equal(o.rows, c.labels.length);
  });

  it('--against reports the second model and the prediction difference', () => {
    const a = csv('a.csv', 'label,score\n0,0.1\n1,0.2\n');
    const b = csv('b.csv', 'score,label\n0.3,0\n0.2,1\n');
    const o = json(ctrkit('metrics', '--input', a, '--against', b));
    near(o.auc, 1);
    near((o.against as Record<string, unknown>).auc, 0);
    near(o.pd, (0.2 / 0.2 + 0) / 2);
    // the second model gets the same keys: |0.3 − 0| and |0.2 − 1| in bins 3 and 2 → (0.3 + 0.8) / 2
    near((o.against as Record<string, unknown>).ece, 1.1 / 2);
    const bad = csv('bad.csv', 'label,score\n0,0.3\n0,0.2\n');
    fails(ctrkit('metrics', '--input', a, '--against', bad), /^ctrkit: bad\.csv:3: column 'label' \(1\): label 0 differs from 1 at a\.csv:3/);
  });

  it('--logits converts scores with a sigmoid; without it a logit is rejected with a hint', () => {
    const f = csv('logits.csv', 'label,score\n0,-3\n1,2\n');
    near(json(ctrkit('metrics', '-i', f, '--logits')).logloss, (Math.log1p(Math.exp(-3)) + Math.log1p(Math.exp(-2))) / 2);
    fails(ctrkit('metrics', '-i', f), /^ctrkit: logits\.csv:2: column 'score' \(2\): -3 is not a probability .*--logits/);
  });

  it('one class: auc is null with a warning, the run still succeeds', () => {
    const r = ctrkit('metrics', '-i', csv('pos.csv', 'label,score\n1,0.2\n1,0.7\n'));
    const o = json(r);
    assert.equal(o.auc, null);
    near(o.logloss, -(Math.log(0.2) + Math.log(0.7)) / 2);
    assert.match(r.err, /warning: pos\.csv: auc: undefined with only one class/);
  });

  it('errors name the file, line and column and exit non-zero without a stack trace', () => {
    fails(ctrkit('metrics', '-i', csv('nocol.csv', 'label,prediction\n0,0.1\n')),
      /^ctrkit: nocol\.csv:1: missing required column 'score' \(header has: label, prediction\)$/);
    fails(ctrkit('metrics', '-i', csv('nan.csv', 'label,score\n0,0.1\n1,0.5\n1,abc\n')),
      /^ctrkit: nan\.csv:4: column 'score' \(2\): "abc" is not a number$/);
    fails(ctrkit('metrics', '-i', csv('empty-cell.csv', 'score,label\n0.1,\n')),
      /^ctrkit: empty-cell\.csv:2: column 'label' \(2\): "" is not a number$/);
    fails(ctrkit('metrics', '-i', csv('label.csv', 'label,score\n0,0.1\n\n-1,0.3\n')),
      /^ctrkit: label\.csv:4: column 'label' \(1\): label must be 0\/1 or a graded relevance >= 0, got -1$/);
    fails(ctrkit('metrics', '-i', csv('graded-nogroup.csv', 'label,score\n0,0.1\n\n2,0.3\n')),
      /^ctrkit: graded-nogroup\.csv:4: column 'label': graded label 2 \(not 0\/1\): the only metric for graded labels is ndcg@10, which needs a group column/);
    fails(ctrkit('metrics', '-i', csv('weight.csv', 'label,score,weight\n0,0.1,1\n1,0.3,-2\n')),
      /^ctrkit: weight\.csv:3: column 'weight' \(3\): weight must be finite and >= 0, got -2$/);
    fails(ctrkit('metrics', '-i', csv('ragged.csv', 'label,score\n0,0.1\n1,0.3,4\n')), /^ctrkit: ragged\.csv:3: /);
    fails(ctrkit('metrics', '-i', csv('header.csv', 'label,score\n')), /^ctrkit: header\.csv: header only, no data rows$/);
    fails(ctrkit('metrics', '-i', 'missing.csv'), /^ctrkit: missing\.csv: no such file$/);
  });

  it('usage errors and --help', () => {
    const r = ctrkit('metrics');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /required option '-i, --input <file>' not specified/);
    const h = ctrkit('metrics', '--help');
    assert.equal(h.code, 0);
    assert.match(h.out, /Usage: ctrkit metrics/);
    assert.match(h.out, /--against <file>/);
    const top = ctrkit('--help');
    assert.equal(top.code, 0);
    assert.match(top.out, /metrics \[options\]/);
  });
});
