/**
 * Report charts: the Vega-Lite specs (layout rules for many series, log axes, reliability
 * ranges) rendered to SVG; Vega warnings reach the caller; vega is loaded lazily; the slice
 * field of the run report is the one that splits the rows most evenly.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { lineChartSpec, reliabilitySpec, sliceBiasSpec, type LineSeries } from '../../src/report/charts.js';
import { renderSvg } from '../../src/report/vega.js';
import { chooseSliceField } from '../../src/experiment/trainReport.js';
import type { CalibrationBin } from '../../src/metrics/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { IdFieldSpec } from '../../src/schema/index.js';
import { packageRoot } from '../helpers/sharedData.js';

const strict = { warn: (m: string): void => { throw new Error(`chart warning: ${m}`); } };
const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;

function cells(n: number): LineSeries[] {
  const x = [10, 20, 30, 40];
  return Array.from({ length: n }, (_, k) => ({ name: `loss=l${k},betaPos=${k / 10}`, x, y: x.map((s) => (k + 1) * 10 / s ** 3) }));
}

describe('line charts', () => {
  it('up to 6 series share one panel with a legend naming each', async () => {
    const spec = lineChartSpec(cells(3), { title: 'few', xLabel: 'global step', yLabel: 'g' });
    assert.ok(!('facet' in spec));
    const svg = await renderSvg(spec, strict);
    for (const s of cells(3)) assert.ok(svg.includes(`>${s.name}</text>`), s.name);
    assert.equal(count(svg, /aria-roledescription="line mark"/g), 3);
  });

  it('27 series become 26 small multiples, each its series over the grey baseline', async () => {
    const series = cells(27);
    const svg = await renderSvg(lineChartSpec(series, { title: 'many', xLabel: 'global step', yLabel: 'grad_neg_logit' }), strict);
    // One panel per non-baseline series, each with two lines: the baseline (muted) and its own.
    assert.equal(count(svg, /aria-roledescription="line mark"[^>]*stroke="#b8b8b8"/g), 26);
    assert.equal(count(svg, /aria-roledescription="line mark"[^>]*stroke="#1f5fa8"/g), 26);
    // Headers wrap cell names at their commas; every name is there in full.
    for (const s of series.slice(1)) {
      const [a, b] = s.name.split(',');
      assert.ok(svg.includes(`>${a}</tspan>`) && svg.includes(`>${b}</tspan>`), s.name);
    }
    assert.match(svg, /grey: the baseline \(loss=l0,betaPos=0\)/);
  });

  it('draws at most 600 points of a long series, ending at its last', () => {
    const x = Array.from({ length: 100_000 }, (_, i) => i + 1);
    const spec = lineChartSpec([{ name: 'loss', x, y: x.map((v) => 1 / v) }]) as { data: { values: { x: number }[] } };
    const drawn = spec.data.values.map((p) => p.x);
    assert.ok(drawn.length <= 600 && drawn.length >= 500, `${drawn.length} points`);
    assert.equal(drawn[0], 1);
    assert.equal(drawn.at(-1), 100_000);
  });

  it('uses a log y axis for values spanning decades, linear otherwise; panels get their own scales', () => {
    const y = (spec: object): { scale: { type?: string } } => {
      const enc = ('spec' in spec ? (spec as { spec: { encoding: unknown } }).spec.encoding : (spec as { encoding: unknown }).encoding) as { y: { scale: { type?: string } } };
      return enc.y;
    };
    assert.equal(y(lineChartSpec(cells(2))).scale.type, 'log');
    const metrics = [{ name: 'auc', x: [1, 2], y: [0.9, 0.93] }, { name: 'logloss', x: [1, 2], y: [0.2, 0.01] }];
    assert.equal(y(lineChartSpec(metrics)).scale.type, 'log', 'one shared axis over 0.01 … 0.93');
    const panels = lineChartSpec(metrics, { layout: 'panels' }) as { resolve: unknown };
    assert.equal(y(panels).scale.type, undefined, 'auc alone does not span decades');
    assert.deepEqual(panels.resolve, { scale: { y: 'independent' } });
  });
});

describe('reliability and slice charts', () => {
  const bin = (index: number, p: number, y: number): CalibrationBin => ({
    index, count: 100, weight: 100, meanPrediction: p, meanLabel: y, minPrediction: p * 0.9, maxPrediction: p * 1.1,
  });

  it('the axes cover the largest mean with the smallest of 0.01, 0.02, 0.05 … 1', async () => {
    const domain = (hi: number): unknown => {
      const spec = reliabilitySpec([{ name: 'test', bins: [bin(0, 0.001, 0.002), bin(1, hi, hi / 2)] }]) as { vconcat: { layer: { encoding: { x: { scale: { domain: number[] } } } }[] }[] };
      return spec.vconcat[0]!.layer[1]!.encoding.x.scale.domain;
    };
    assert.deepEqual(domain(0.009), [0, 0.01]);
    assert.deepEqual(domain(0.03), [0, 0.05]);
    assert.deepEqual(domain(0.7), [0, 1]);
    const svg = await renderSvg(reliabilitySpec([{ name: 'raw', bins: [bin(0, 0.01, 0.012), bin(1, 0.03, 0.028)] }, { name: 'calibrated', bins: [bin(0, 0.011, 0.012)] }]), strict);
    assert.equal(count(svg, /aria-roledescription="point"/g), 3, 'a point per bin');
    assert.ok(svg.includes('>calibrated</text>'));
  });

  it('slice bias bars: one per slice with positives, every slice labelled with its rows', async () => {
    const svg = await renderSvg(sliceBiasSpec([
      { slice: 'a', rows: 10, ratioBias: 0.2 }, { slice: 'b', rows: 20, ratioBias: -0.1 }, { slice: 'c', rows: 5, ratioBias: null },
    ]), strict);
    assert.equal(count(svg, /aria-roledescription="bar"/g), 2);
    for (const t of ['10 rows', '20 rows', '5 rows']) assert.ok(svg.includes(`>${t}</text>`), t);
  });

  it('Vega warnings reach the caller', async () => {
    const warnings: string[] = [];
    await renderSvg({ data: { values: [{ a: 1 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' }, xOffset: { field: 'a', type: 'nominal' } } },
      { warn: (m) => warnings.push(m) });
    assert.ok(warnings.length > 0);
  });
});

describe('lazy loading', () => {
  it("import 'ctrkit' does not load vega; the first chart does", () => {
    const hooks = `data:text/javascript,export async function resolve(s, c, next) { if (s === 'vega' || s === 'vega-lite') throw new Error('loaded ' + s); return next(s, c); }`;
    const index = join(packageRoot(), 'dist', 'src', 'index.js');
    const script = `import { register } from 'node:module';
register(${JSON.stringify(hooks)});
const ctrkit = await import(${JSON.stringify(index)});
const err = await ctrkit.renderSvg({ mark: 'point' }).then(() => 'rendered', (e) => e.message);
console.log(err);`;
    const r = spawnSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^loaded vega(-lite)?$/);
  });
});

describe('slice field of the run report', () => {
  /** Rows × 3 fields: numeric-bucket field 0, field 1 one dominant value, field 2 four even values. */
  function data(rows: number): { ds: Dataset; fields: IdFieldSpec[] } {
    const base = { column: 'c', privileged: false };
    const fields: IdFieldSpec[] = [
      { ...base, name: 'age', kind: 'vocab', logBucket: true, minCount: 1, vocabulary: ['1', '2', '3', '4', '5', '6'] },
      { ...base, name: 'country', kind: 'vocab', logBucket: false, minCount: 1, vocabulary: ['US', 'FR', 'DE'] },
      { ...base, name: 'device', kind: 'hash', buckets: 8 },
    ];
    const sizes = [7, 4, 8];
    const offsets = [0, 7, 11];
    const ids = new Int32Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      ids[r * 3] = offsets[0]! + 1 + (r % 6);
      ids[r * 3 + 1] = offsets[1]! + (r % 10 === 0 ? 2 : 1);
      ids[r * 3 + 2] = offsets[2]! + (r % 4);
    }
    const ds: Dataset = {
      numRows: rows, numFields: 3, fieldNames: fields.map((f) => f.name), ids, fieldSizes: Int32Array.from(sizes),
      fieldOffsets: Int32Array.from(offsets), numIds: 19, labels: [new Float32Array(rows)], labelNames: ['y'],
    };
    return { ds, fields };
  }

  it('is the categorical field whose values split the rows most evenly (numeric buckets are not candidates)', () => {
    const { ds, fields } = data(100);
    const f = chooseSliceField(ds, fields, { start: 0, end: 100 })!;
    assert.equal(fields[f.field]!.name, 'device');
    assert.deepEqual(f.top, [0, 1, 2, 3]);
    assert.equal(f.local.length, 100);
  });

  it('is null when no categorical field has two values in the rows', () => {
    const { ds, fields } = data(100);
    assert.equal(chooseSliceField(ds, [fields[0]!, fields[1]!], { start: 1, end: 10 }), null);
  });
});
