/**
 * The training-run report end to end on the bundled census-income data: `ctrkit train` writes
 * report.html + report.json whose metrics are the printed summary's, with the expected
 * sections and charts; `ctrkit report` rebuilds the same bytes, refreshes curves from a grown
 * log and falls back to the log alone; the page loads cleanly in headless Chromium.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { RunReport, ReportSection } from '../../src/report/runReport.js';
import { packageRoot } from '../helpers/sharedData.js';
import { checkPage, chromiumPath } from '../helpers/browser.js';

const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

interface Summary {
  output: string;
  report: string;
  rows: { fit: number; validation: number; test: number };
  validation: Record<string, number | null>;
  test: Record<string, number | null>;
  test_calibrated?: Record<string, number | null>;
}

const readReport = (dir: string): RunReport => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RunReport;
const svgs = (html: string): string[] => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
const charted = (s: ReportSection): boolean => s.kind !== 'metrics';

describe('ctrkit train writes a report (census-income)', () => {
  let dir: string;
  let out: string;
  let summary: Summary;
  let report: RunReport;
  let html: string;
  let categorical: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-report-'));
    out = join(dir, 'out');
    const text = readFileSync(join(root, 'examples', 'census-income.yaml'), 'utf8');
    categorical = [...text.matchAll(/- \{ name: (\w+), kind: categorical \}/g)].map((m) => m[1]!);
    const cfg = join(dir, 'exp.yaml');
    writeFileSync(cfg, text
      .replace(/^model:.*$/m, 'model: { type: lr }')
      .replace(/^train:.*$/m, 'train: { epochs: 2, batchSize: 1024, seed: 1, optimizer: { type: adam, lr: 0.01 }, calibration: platt, probes: true, logEvery: 10 }')
      .replace(/^output:.*$/m, `output: ${out}`));
    const r = spawnSync('node', [cli, 'train', cfg, '-q'], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stderr);
    summary = JSON.parse(r.stdout) as Summary;
    report = readReport(out);
    html = readFileSync(summary.report, 'utf8');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the summary names report.html in the output directory, and report.json holds its metrics', () => {
    assert.equal(summary.report, join(out, 'report.html'));
    assert.ok(existsSync(join(out, 'report.json')));
    assert.deepEqual(report.metrics, { validation: summary.validation, test: summary.test, test_calibrated: summary.test_calibrated });
    const table = report.tasks[0]!.sections.find((s) => s.kind === 'metrics');
    assert.ok(table?.kind === 'metrics');
    assert.deepEqual(table.columns, ['validation', 'test', 'test (calibrated)']);
    const auc = table.rows.find((r) => r.metric === 'auc')!;
    assert.deepEqual(auc.values, [summary.validation.auc, summary.test.auc, summary.test_calibrated!.auc]);
  });

  it('has learning curves per step and per epoch, one task with reliability and slice sections', () => {
    assert.deepEqual(report.training.map((s) => s.title), ['Training loss', 'Gradient probes']);
    const loss = report.training[0]!;
    assert.ok(loss.kind === 'curves');
    const stepsPerEpoch = Math.ceil(summary.rows.fit / 1024);
    assert.equal(loss.series[0]!.x.length, Math.floor((2 * stepsPerEpoch) / 10), 'a point per logged step window');
    assert.deepEqual(loss.series[1]!.x, [stepsPerEpoch, 2 * stepsPerEpoch], 'epoch means at each epoch end');
    const probes = report.training[1]!;
    assert.ok(probes.kind === 'curves' && probes.series.some((s) => s.name === 'grad_neg_logit'));

    assert.equal(report.tasks.length, 1);
    const task = report.tasks[0]!;
    assert.equal(task.name, 'income');
    assert.deepEqual(task.sections.map((s) => s.kind), ['metrics', 'curves', 'reliability', 'sliceBias', 'sliceBias']);
    const val = task.sections[1]!;
    assert.ok(val.kind === 'curves');
    assert.deepEqual(val.series.find((s) => s.name === 'auc')!.x, [1, 2]);

    const rel = task.sections[2]!;
    assert.ok(rel.kind === 'reliability');
    assert.deepEqual(rel.diagrams.map((d) => d.name), ['before calibration', 'after calibration']);
    for (const d of rel.diagrams) assert.equal(d.bins.reduce((s, b) => s + b.count, 0), summary.rows.test);
    // The equal-frequency ECE of the diagram is the summary's ece_freq of the same predictions.
    assert.ok(Math.abs(rel.diagrams[0]!.ece - summary.test.ece_freq!) < 1e-12);
    assert.ok(Math.abs(rel.diagrams[1]!.ece - summary.test_calibrated!.ece_freq!) < 1e-12);

    const [deciles, field] = task.sections.slice(3) as Extract<ReportSection, { kind: 'sliceBias' }>[];
    assert.equal(deciles!.by, 'pCTR decile');
    assert.equal(deciles!.slices.length, 10);
    assert.ok(categorical.includes(field!.by), `slice field ${field!.by} is a categorical field`);
    assert.ok(field!.slices.length >= 2 && field!.slices.length <= 11);
    for (const s of [deciles!, field!]) {
      assert.equal(s.slices.reduce((a, r) => a + r.rows, 0), summary.rows.test, `${s.by}: slices cover the test rows`);
      // Σ p over the slices is the calibrated mean prediction times the rows.
      const p = s.slices.reduce((a, r) => a + r.predicted, 0) / summary.rows.test;
      assert.ok(Math.abs(p - summary.test_calibrated!.mean_p!) < 1e-9, `${s.by}: Σp/N ${p}`);
    }
  });

  it('report.html is self-contained, with one rendered chart per chart section', () => {
    const sections = [...report.training, ...report.tasks.flatMap((t) => t.sections)];
    const charts = svgs(html);
    assert.equal(charts.length, sections.filter(charted).length);
    for (const svg of charts) {
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* width="\d+" height="\d+"/);
      assert.match(svg, /class="mark-/, 'Vega marks');
    }
    for (const s of sections) assert.ok(html.includes(`>${s.title.replace(/&/g, '&amp;')}</h3>`), s.title);
    assert.match(html, /<h2 id="task-income">Task income<\/h2>/);
    assert.doesNotMatch(html, /<script|<link|<img|https?:\/\/(?!www\.w3\.org)/);
  });

  it('ctrkit report rebuilds the same bytes, and curves from a log that grew', () => {
    const before = ['report.json', 'report.html'].map((f) => readFileSync(join(out, f), 'utf8'));
    const r = spawnSync('node', [cli, 'report', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { report: join(out, 'report.html') });
    assert.deepEqual(['report.json', 'report.html'].map((f) => readFileSync(join(out, f), 'utf8')), before);

    // A continued run appends to the log: its curves change, the evaluation stays.
    const copy = join(dir, 'grown');
    mkdirSync(copy);
    for (const f of ['log.jsonl', 'report.json']) copyFileSync(join(out, f), join(copy, f));
    appendFileSync(join(copy, 'log.jsonl'), `${JSON.stringify({ event: 'step', epoch: 3, step: 10, globalStep: 99990, loss: 0.25, rows: 10240 })}\n`);
    assert.equal(spawnSync('node', [cli, 'report', copy], { encoding: 'utf8' }).status, 0);
    const grown = readReport(copy);
    const loss = grown.training[0]!;
    assert.ok(loss.kind === 'curves');
    assert.equal(loss.series[0]!.x.at(-1), 99990);
    assert.equal(loss.series[0]!.y.at(-1), 0.25);
    assert.deepEqual(grown.tasks[0]!.sections.filter((s) => s.source === 'evaluation'), report.tasks[0]!.sections.filter((s) => s.source === 'evaluation'));
  });

  it('ctrkit report on a run without report.json reports the log, metrics from its last record', () => {
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    copyFileSync(join(out, 'log.jsonl'), join(bare, 'log.jsonl'));
    const r = spawnSync('node', [cli, 'report', bare], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rebuilt = readReport(bare);
    assert.deepEqual(rebuilt.metrics, report.metrics);
    assert.deepEqual(rebuilt.training, report.training);
    assert.deepEqual(rebuilt.tasks[0]!.sections.map((s) => s.kind), ['metrics', 'curves']);
  });

  it('a directory that is not a run is a one-line error naming the log', () => {
    const r = spawnSync('node', [cli, 'report', dir], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ctrkit: .*log\.jsonl: no such file \(is '.*' the output directory of a training run\?\)\n$/);
  });

  it('loads in headless Chromium without console errors, page errors or resource loads', async (t) => {
    if (!chromiumPath()) {
      t.skip('chromium not installed (apt-get install -y chromium): browser check skipped');
      return;
    }
    const shot = process.env.CTRKIT_REPORT_SCREENSHOT;
    const r = await checkPage(summary.report, {
      evaluate: "[...document.querySelectorAll('svg')].map((s) => { const b = s.getBoundingClientRect(); return [b.width, b.height]; })",
      ...(shot ? { screenshot: shot } : {}),
    });
    assert.deepEqual(r.problems, []);
    const sizes = r.value as [number, number][];
    assert.equal(sizes.length, svgs(html).length);
    for (const [w, h] of sizes) assert.ok(w > 100 && h > 100, `chart drawn at ${w}×${h}`);
  });
});
