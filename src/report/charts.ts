/**
 * The report charts as Vega-Lite specs (rendered by ./vega.ts): line charts of training curves,
 * reliability diagrams and calibration bias per slice. Specs carry their data inline, so a
 * chart is a pure function of its inputs and the same inputs give the same SVG bytes.
 *
 * Many series stay readable: up to SERIES_IN_ONE_PANEL lines share one panel with a legend;
 * more become small multiples, one panel per series drawn over the first (baseline) series in
 * grey, so 27 grid cells are 27 small panels each compared with the baseline instead of 27
 * colours nobody can tell apart.
 */
import type { CalibrationBin } from '../metrics/calibrationBins.js';
import type { ChartSpec } from './vega.js';

export interface LineSeries {
  name: string;
  x: readonly number[];
  /** null = no value at that x (the line breaks there). */
  y: readonly (number | null)[];
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /**
   * 'auto' (default): one panel up to SERIES_IN_ONE_PANEL series, else small multiples over the
   * first series; 'panels': one panel per series, each with its own y scale (metrics of
   * different units, e.g. AUC and LogLoss, side by side).
   */
  layout?: 'auto' | 'panels';
  /** Log y axis: 'auto' (default) when every value is positive and they span over a factor of 20 (see wantLog). */
  logY?: boolean | 'auto';
}

const SERIES_IN_ONE_PANEL = 6;
const HIGHLIGHT = '#1f5fa8';
const MUTED = '#b8b8b8';
const FONT = 'sans-serif';

/** Shared look: white background, readable fonts, no chart border. */
const CONFIG = {
  background: 'white',
  font: FONT,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  // Long grid-cell names wrap at their commas rather than being cut.
  header: { labelFontSize: 11, labelLimit: 0, labelExpr: "split(datum.label, ',')", titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, offset: 12 },
};

interface Point {
  series: string;
  x: number;
  y: number;
}

/**
 * Points drawn per series at most: a panel is a few hundred pixels wide, and a run logged every
 * step would otherwise put 10⁵ vertices per line into the page. The data (report.json) keeps all.
 */
const MAX_POINTS = 600;

function points(s: LineSeries, log: boolean, max = MAX_POINTS): Point[] {
  const out: Point[] = [];
  s.x.forEach((x, i) => {
    const y = s.y[i];
    if (typeof y === 'number' && Number.isFinite(y) && (!log || y > 0)) out.push({ series: s.name, x, y });
  });
  if (out.length <= max) return out;
  // Every k-th point and the last, so the line still ends where the run did.
  const k = Math.ceil(out.length / max);
  return out.filter((_, i) => i % k === 0 || i === out.length - 1);
}

/** Values spanning over a factor of 20, all positive: on a linear axis most of them would lie flat on the floor. */
function spansDecades(ys: readonly (number | null)[]): boolean {
  const v = ys.filter((y): y is number => typeof y === 'number' && Number.isFinite(y));
  return v.length > 0 && v.every((y) => y > 0) && Math.max(...v) / Math.min(...v) > 20;
}

/** 'auto': log when the series together span decades, or — panels having their own y scales — each of them does. */
function wantLog(series: readonly LineSeries[], opts: LineChartOptions): boolean {
  if (opts.logY !== undefined && opts.logY !== 'auto') return opts.logY;
  if (opts.layout === 'panels') return series.length > 0 && series.every((s) => spansDecades(s.y));
  return spansDecades(series.flatMap((s) => s.y));
}

/** Points on the line when there are few of them (per-epoch curves), a plain line otherwise. */
function lineMark(data: readonly Point[], seriesCount: number, color?: string) {
  const perSeries = data.length / Math.max(1, seriesCount);
  return { type: 'line' as const, point: perSeries <= 30, strokeWidth: 1.8, ...(color ? { color } : {}) };
}

function axes(opts: LineChartOptions, log: boolean) {
  return {
    x: { field: 'x', type: 'quantitative' as const, title: opts.xLabel ?? 'x', axis: { tickMinStep: 1, format: '~s' } },
    y: {
      field: 'y', type: 'quantitative' as const, title: `${opts.yLabel ?? ''}${log ? ' (log scale)' : ''}`,
      scale: log ? { type: 'log' as const } : { zero: false }, axis: { format: log ? '.1~e' : '~r', labelOverlap: 'greedy' as const },
    },
  };
}

/** A line chart of one or more series; see LineChartOptions for the layout rules. */
export function lineChartSpec(series: readonly LineSeries[], opts: LineChartOptions = {}): ChartSpec {
  const log = wantLog(series, opts);
  const names = series.map((s) => s.name);
  const title = opts.title ?? '';
  if (opts.layout === 'panels') {
    const data = series.flatMap((s) => points(s, log));
    return {
      title, config: CONFIG, data: { values: data }, columns: Math.min(3, series.length),
      facet: { field: 'series', type: 'nominal', sort: names, title: null },
      spec: { width: 250, height: 150, mark: lineMark(data, series.length, HIGHLIGHT), encoding: { ...axes({ ...opts, yLabel: '' }, log) } },
      resolve: { scale: { y: 'independent' } },
    };
  }
  if (series.length <= SERIES_IN_ONE_PANEL) {
    const data = series.flatMap((s) => points(s, log));
    return {
      title, config: CONFIG, data: { values: data }, width: 640, height: 300,
      mark: lineMark(data, series.length),
      encoding: {
        ...axes(opts, log),
        color: {
          field: 'series', type: 'nominal', sort: names, title: null,
          legend: series.length > 1 ? { orient: 'bottom', direction: 'vertical' } : null,
        },
      },
    };
  }
  // Small multiples: every panel shows its series over the baseline (first series) in grey.
  const [base, ...rest] = series;
  const role = (r: string) => ({ role: r });
  const data = rest.flatMap((s) => [
    ...points(base!, log, MAX_POINTS / 4).map((p) => ({ ...p, panel: s.name, ...role(`baseline: ${base!.name}`) })),
    ...points(s, log, MAX_POINTS / 4).map((p) => ({ ...p, panel: s.name, ...role('this cell') })),
  ]);
  return {
    title: { text: title, subtitle: `one panel per series; grey: the baseline (${base!.name})` },
    config: CONFIG, data: { values: data }, columns: 4,
    facet: { field: 'panel', type: 'nominal', sort: rest.map((s) => s.name), title: null },
    spec: {
      width: 200, height: 120,
      mark: lineMark(data, 2 * rest.length),
      encoding: {
        ...axes(opts, log),
        color: {
          field: 'role', type: 'nominal', title: null,
          scale: { domain: [`baseline: ${base!.name}`, 'this cell'], range: [MUTED, HIGHLIGHT] },
          legend: { orient: 'top' },
        },
      },
    },
  };
}

export interface ReliabilitySeries {
  /** e.g. 'raw', 'calibrated' or a grid cell. */
  name: string;
  bins: readonly CalibrationBin[];
}

/** Smallest axis range covering every mean: CTRs are small, and on [0, 1] all points would sit in the corner. */
const RANGES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/**
 * Reliability diagram: mean label against mean prediction per bin, the y = x diagonal, and
 * under it the rows per bin on the same x axis (each bar spans the bin's prediction range).
 */
export function reliabilitySpec(diagrams: readonly ReliabilitySeries[], opts: { title?: string; subtitle?: string; size?: number } = {}): ChartSpec {
  const size = opts.size ?? 360;
  let hi = 0;
  for (const d of diagrams) for (const b of d.bins) hi = Math.max(hi, b.meanPrediction, b.meanLabel);
  const max = RANGES.find((r) => hi <= r) ?? 1;
  const names = diagrams.map((d) => d.name);
  const bins = diagrams.flatMap((d) => d.bins.map((b) => ({
    series: d.name, index: b.index, p: b.meanPrediction, y: b.meanLabel, count: b.count,
    lo: Math.min(b.minPrediction, max), hi: Math.min(b.maxPrediction, max),
  })));
  const x = { field: 'p', type: 'quantitative' as const, title: 'mean predicted probability', scale: { domain: [0, max] } };
  const color = {
    field: 'series', type: 'nominal' as const, sort: names, title: null,
    legend: diagrams.length > 1 ? { orient: 'top' as const } : null,
    ...(diagrams.length > 1 ? {} : { scale: { range: [HIGHLIGHT] } }),
  };
  return {
    // The title must not set the width: several diagrams sit side by side in the experiment report.
    // Long grid-cell names wrap at their commas, as in the small-multiple headers.
    ...(opts.title ? { title: { text: opts.title.split(','), fontSize: 12, limit: size + 40, ...(opts.subtitle ? { subtitle: opts.subtitle } : {}) } } : {}),
    config: CONFIG,
    vconcat: [
      {
        width: size, height: size,
        layer: [
          {
            data: { values: [{ p: 0, y: 0 }, { p: max, y: max }] },
            mark: { type: 'line', color: '#999', strokeDash: [4, 4], strokeWidth: 1 },
            encoding: { x, y: { field: 'y', type: 'quantitative', title: 'observed rate (mean label)', scale: { domain: [0, max] } } },
          },
          {
            data: { values: bins },
            mark: { type: 'line', point: { size: 40 }, strokeWidth: 1.5 },
            encoding: { x, y: { field: 'y', type: 'quantitative', scale: { domain: [0, max] } }, color },
          },
        ],
      },
      {
        // Where the equal-frequency bins lie (each holds the same rows): narrow bins = dense predictions.
        width: size, height: { step: 16 },
        data: { values: bins },
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          x: { field: 'lo', type: 'quantitative', title: 'bin ranges (equal rows each)', scale: { domain: [0, max] } },
          x2: { field: 'hi' },
          y: { field: 'series', type: 'nominal', sort: names, title: null, axis: diagrams.length > 1 ? {} : null },
          color,
          opacity: { condition: { test: 'datum.index % 2 == 0', value: 0.85 }, value: 0.45 },
        },
      },
    ],
  };
}

export interface SliceBiasRow {
  slice: string;
  rows: number;
  /** Σp / Σy − 1 (null without positives). */
  ratioBias: number | null;
}

/**
 * Calibration bias per slice as horizontal bars of Σp/Σy − 1 (right of 0: over-predicted),
 * labelled with the slice's rows; slices without positives have no bar.
 */
export function sliceBiasSpec(slices: readonly SliceBiasRow[], opts: { title?: string } = {}): ChartSpec {
  const values = slices.map((s) => ({ slice: s.slice, rows: s.rows, bias: s.ratioBias, label: `${s.rows} rows` }));
  const y = { field: 'slice', type: 'nominal' as const, sort: slices.map((s) => s.slice), title: null, axis: { labelLimit: 240 } };
  return {
    ...(opts.title ? { title: opts.title } : {}),
    config: CONFIG,
    data: { values },
    width: 420, height: { step: 20 },
    layer: [
      {
        transform: [{ filter: 'isValid(datum.bias)' }],
        mark: { type: 'bar' },
        encoding: {
          y, x: { field: 'bias', type: 'quantitative', title: 'Σp / Σy − 1 (> 0: over-predicted)', axis: { format: '+.0%' } },
          color: { condition: { test: 'datum.bias > 0', value: '#d6604d' }, value: '#4393c3' },
        },
      },
      { mark: { type: 'rule', color: '#333' }, encoding: { x: { datum: 0 } } },
      {
        mark: { type: 'text', align: 'left', dx: 4, color: '#555', fontSize: 10 },
        encoding: { y, x: { value: 424 }, text: { field: 'label' } },
      },
    ],
  };
}
