/**
 * The report of one training run: <run dir>/report.json (the data) and report.html (the same
 * data drawn: tables and inline SVG charts). Two sources feed it:
 *   - the run's JSONL log: learning curves (loss per step window and per epoch, gradient
 *     probes, validation metrics per epoch) — sections marked source 'log';
 *   - the evaluation at the end of training (metrics, reliability diagrams, calibration bias per
 *     slice), which needs the model and the data — sections marked source 'evaluation'.
 * `ctrkit report RUN_DIR` rebuilds the log sections from the current log and keeps the
 * evaluation sections of report.json, so a log that grew (a resumed or continued run) gets
 * fresh curves without re-scoring anything.
 *
 * Results are per task (a label of the model) → sections, so a multi-task run adds tasks, not
 * a new layout; a run has one task today.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { CalibrationBin } from '../metrics/calibrationBins.js';
import { parseMetricLog, type MetricRecord } from '../train/metricLog.js';
import { lineChartSpec, reliabilitySpec, sliceBiasSpec, type LineSeries } from './charts.js';
import { escapeHtml, htmlPage, htmlTable, inlineText } from './html.js';
import { renderSvg, type RenderOptions } from './vega.js';

export const REPORT_VERSION = 1;

export type MetricValues = Record<string, number | null>;

interface SectionBase {
  title: string;
  /** Where the data comes from: 'log' sections are rebuilt from log.jsonl, 'evaluation' ones kept. */
  source: 'log' | 'evaluation';
  /** A sentence under the title. */
  note?: string;
}

/** Metric rows × columns (validation, test, test after calibration …). */
export interface MetricsSection extends SectionBase {
  kind: 'metrics';
  columns: string[];
  rows: { metric: string; values: (number | null)[] }[];
}

export interface CurvesSection extends SectionBase {
  kind: 'curves';
  xLabel: string;
  yLabel?: string;
  /** See LineChartOptions.layout: 'panels' = one panel per series with its own y scale. */
  layout: 'auto' | 'panels';
  series: LineSeries[];
}

export interface ReliabilitySection extends SectionBase {
  kind: 'reliability';
  diagrams: { name: string; ece: number; rows: number; bins: CalibrationBin[] }[];
}

export interface SliceBiasSection extends SectionBase {
  kind: 'sliceBias';
  /** What the slices are: 'pCTR decile', or a field name. */
  by: string;
  slices: { slice: string; rows: number; weight: number; predicted: number; observed: number; ratioBias: number | null; meanBias: number | null }[];
}

export type ReportSection = MetricsSection | CurvesSection | ReliabilitySection | SliceBiasSection;

export interface TaskReport {
  /** The label (task) name. */
  name: string;
  sections: ReportSection[];
}

export interface RunReport {
  version: typeof REPORT_VERSION;
  title: string;
  /** Facts about the run shown as a table, in this order (config, output, epochs, rows …). */
  run: Record<string, string | number | boolean | null>;
  /** The metrics as the printed `ctrkit train` summary has them. */
  metrics: { validation: MetricValues; test: MetricValues; test_calibrated?: MetricValues };
  /** Run-wide sections (loss, gradient probes). */
  training: ReportSection[];
  tasks: TaskReport[];
}

/** A run directory that cannot be reported on (no log, a log or report.json that does not parse): the user's to fix. */
export class RunReportInputError extends Error {
  override name = 'RunReportInputError';
}

/** Log keys that are bookkeeping, not curves. */
const NOT_CURVES = new Set(['event', 'epoch', 'step', 'globalStep', 'rows', 'time', 'seconds', 'best', 'best_epoch', 'resumed', 'epochs', 'seed']);

/** Numeric values of records by x (a resumed run re-logs steps: later records win). */
function columns(records: readonly MetricRecord[], x: (r: MetricRecord) => number, keep: (k: string) => boolean): { x: number[]; values: Map<string, (number | null)[]> } {
  const byX = new Map<number, Record<string, number | null>>();
  for (const r of records) {
    const row: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(r)) if (keep(k) && (typeof v === 'number' || v === null)) row[k] = v;
    byX.set(x(r), { ...byX.get(x(r)), ...row });
  }
  const xs = [...byX.keys()].sort((a, b) => a - b);
  const names = [...new Set(xs.flatMap((v) => Object.keys(byX.get(v)!)))];
  return { x: xs, values: new Map(names.map((n) => [n, xs.map((v) => byX.get(v)![n] ?? null)])) };
}

/** The learning-curve sections of a log: run-wide ones and those of the (single) task. */
export function logSections(records: readonly MetricRecord[]): { training: ReportSection[]; task: ReportSection[] } {
  const of = (e: MetricRecord['event']): MetricRecord[] => records.filter((r) => r.event === e);
  const training: ReportSection[] = [];
  const steps = columns(of('step'), (r) => r.globalStep, (k) => !NOT_CURVES.has(k));
  const epochs = columns(of('epoch'), (r) => r.globalStep, (k) => k === 'loss');
  const loss: LineSeries[] = [];
  const stepLoss = steps.values.get('loss');
  if (stepLoss) loss.push({ name: 'per logged step window', x: steps.x, y: stepLoss });
  const epochLoss = epochs.values.get('loss');
  if (epochLoss) loss.push({ name: 'epoch mean (at its last step)', x: epochs.x, y: epochLoss });
  if (loss.length > 0) training.push({ kind: 'curves', source: 'log', title: 'Training loss', xLabel: 'global step', yLabel: 'loss', layout: 'auto', series: loss });
  const probes = [...steps.values].filter(([k]) => k.startsWith('grad_')).map(([name, y]) => ({ name, x: steps.x, y }));
  if (probes.length > 0) {
    training.push({
      kind: 'curves', source: 'log', title: 'Gradient probes', xLabel: 'global step', layout: 'panels', series: probes,
      note: 'Per logged step (train.probes): mean |∂L/∂z| over negative / positive rows and row-gradient norms of the bottom layers.',
    });
  }
  // mean_y is the validation rows' label rate: the same every epoch.
  const validation = columns(of('validation'), (r) => r.epoch, (k) => !NOT_CURVES.has(k) && k !== 'mean_y');
  const task: ReportSection[] = [];
  if (validation.x.length > 0) {
    task.push({
      kind: 'curves', source: 'log', title: 'Validation metrics per epoch', xLabel: 'epoch', layout: 'panels',
      series: [...validation.values].map(([name, y]) => ({ name, x: validation.x, y })),
    });
  }
  task.push(...progressSections(of('progress')));
  return { training, task };
}

/**
 * Progressive validation of an online run (src/experiment/onlineRun.ts) over the rows scored:
 * cumulative, since-last and sliding-window LogLoss, cumulative and window AUC, mean p vs mean y.
 */
function progressSections(records: readonly MetricRecord[]): ReportSection[] {
  const p = columns(records, (r) => r.rows as number, () => true);
  if (p.x.length === 0) return [];
  const curves = (title: string, yLabel: string, names: [string, string][], note?: string): ReportSection[] => {
    const series = names.flatMap(([key, name]) => {
      const y = p.values.get(key);
      return y ? [{ name, x: p.x, y }] : [];
    });
    return series.length === 0 ? [] : [{ kind: 'curves', source: 'log', title, xLabel: 'rows scored', yLabel, layout: 'auto', series, ...(note && { note }) }];
  };
  return [
    ...curves('Progressive LogLoss', 'logloss', [['logloss', 'cumulative'], ['since_last_logloss', 'since the previous point'], ['window_logloss', 'sliding window']],
      'Every batch scored before it is trained on; points at doubling row counts.'),
    ...curves('Progressive AUC', 'auc', [['auc', 'cumulative (histogram)'], ['window_auc', 'sliding window (exact)']]),
    ...curves('Mean prediction vs label rate', 'rate', [['mean_p', 'mean p'], ['mean_y', 'mean y'], ['window_mean_p', 'window mean p'], ['window_mean_y', 'window mean y']]),
  ];
}

/** Order of sections within a task, whatever their source. */
const ORDER: Record<ReportSection['kind'], number> = { metrics: 0, curves: 1, reliability: 2, sliceBias: 3 };

function ordered(sections: readonly ReportSection[]): ReportSection[] {
  return [...sections].sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);
}

/**
 * The report from the run's log and its evaluation sections. The log's per-task curves go to
 * the first task (one task today; a multi-task log will name its tasks).
 */
export function buildRunReport(input: Omit<RunReport, 'version' | 'training'>, log: readonly MetricRecord[]): RunReport {
  const fromLog = logSections(log);
  const tasks = input.tasks.map((t, i) => ({
    name: t.name,
    sections: ordered([...t.sections.filter((s) => s.source !== 'log'), ...(i === 0 ? fromLog.task : [])]),
  }));
  return { version: REPORT_VERSION, title: input.title, run: input.run, metrics: input.metrics, training: fromLog.training, tasks };
}

/** Reads a run directory's log.jsonl (an error naming the file when it is absent). */
export function readRunLog(dir: string): MetricRecord[] {
  const file = join(dir, 'log.jsonl');
  if (!existsSync(file)) throw new RunReportInputError(`${file}: no such file (is '${dir}' the output directory of a training run?)`);
  try {
    return parseMetricLog(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RunReportInputError(`${file}: ${(e as Error).message}`);
  }
}

/** Metrics of the final 'stop' record `ctrkit train` logs (validation_*, test_*, test_calibrated_*). */
function metricsFromLog(log: readonly MetricRecord[]): RunReport['metrics'] {
  const stop = [...log].reverse().find((r) => r.event === 'stop' && Object.keys(r).some((k) => k.startsWith('test_') || k.startsWith('validation_')));
  const out: RunReport['metrics'] = { validation: {}, test: {} };
  for (const [k, v] of Object.entries(stop ?? {})) {
    if (typeof v !== 'number') continue;
    if (k.startsWith('test_calibrated_')) (out.test_calibrated ??= {})[k.slice(16)] = v;
    else if (k.startsWith('test_')) out.test[k.slice(5)] = v;
    else if (k.startsWith('validation_')) out.validation[k.slice(11)] = v;
  }
  return out;
}

/**
 * Rebuilds a run directory's report: evaluation sections from its report.json when there is
 * one, else the metrics the log's final record carries; curves from the current log.
 */
export function rebuildRunReport(dir: string): RunReport {
  const log = readRunLog(dir);
  const jsonFile = join(dir, 'report.json');
  if (existsSync(jsonFile)) {
    let prev: RunReport;
    try {
      prev = JSON.parse(readFileSync(jsonFile, 'utf8')) as RunReport;
    } catch (e) {
      throw new RunReportInputError(`${jsonFile}: not JSON: ${(e as Error).message}`);
    }
    if (prev.version !== REPORT_VERSION) throw new RunReportInputError(`${jsonFile}: report version ${String(prev.version)}, this ctrkit reads version ${REPORT_VERSION}`);
    return buildRunReport(prev, log);
  }
  const metrics = metricsFromLog(log);
  const columnsOf = Object.entries(metrics).filter(([, v]) => v && Object.keys(v).length > 0) as [string, MetricValues][];
  const names = [...new Set(columnsOf.flatMap(([, v]) => Object.keys(v)))];
  const table: MetricsSection = {
    kind: 'metrics', source: 'evaluation', title: 'Metrics', columns: columnsOf.map(([k]) => k.replace('_', ' ')),
    rows: names.map((m) => ({ metric: m, values: columnsOf.map(([, v]) => v[m] ?? null) })),
    note: 'From the log (no report.json): reliability and slices need the end-of-training evaluation.',
  };
  return buildRunReport({ title: `Training run ${dir}`, run: { output: dir }, metrics, tasks: [{ name: 'task', sections: names.length > 0 ? [table] : [] }] }, log);
}

function fmt(v: number | null | undefined, digits = 4): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(digits);
}

function pct(v: number | null): string {
  return v === null ? 'n/a (no positives)' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`;
}

function anchor(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function sectionHtml(s: ReportSection, id: string, opts: RenderOptions): Promise<string[]> {
  const h = [`<h3 id="${id}">${escapeHtml(s.title)}</h3>`];
  if (s.note) h.push(`<p>${inlineText(s.note)}</p>`);
  switch (s.kind) {
    case 'metrics':
      h.push(htmlTable(['metric', ...s.columns], s.rows.map((r) => [r.metric, ...r.values.map((v) => fmt(v))])));
      break;
    case 'curves':
      h.push(`<figure>${await renderSvg(lineChartSpec(s.series, { xLabel: s.xLabel, yLabel: s.yLabel, layout: s.layout }), opts)}</figure>`);
      break;
    case 'reliability':
      h.push(`<figure>${await renderSvg(reliabilitySpec(s.diagrams), opts)}<figcaption>${escapeHtml(
        s.diagrams.map((d) => `${d.name}: ECE (equal-frequency) ${fmt(d.ece)} over ${d.rows} rows, ${d.bins.length} bins`).join('; '))}</figcaption></figure>`);
      break;
    case 'sliceBias':
      h.push(`<figure>${await renderSvg(sliceBiasSpec(s.slices), opts)}</figure>`);
      h.push(htmlTable([s.by, 'rows', 'Σ w·p', 'Σ w·y', 'Σp/Σy − 1', 'mean (p − y)'],
        s.slices.map((r) => [r.slice, String(r.rows), fmt(r.predicted, 2), fmt(r.observed, 2), pct(r.ratioBias), fmt(r.meanBias)])));
      break;
  }
  return h;
}

/** The report as a self-contained HTML page. */
export async function runReportHtml(report: RunReport, opts: RenderOptions = {}): Promise<string> {
  const toc: string[] = ['<a href="#run">Run</a>'];
  const body: string[] = [];
  body.push('<h2 id="run">Run</h2>', htmlTable(['', ''], Object.entries(report.run).map(([k, v]) => [k, v === null ? 'n/a' : String(v)])));
  if (report.training.length > 0) {
    toc.push('<a href="#training">Training</a>');
    body.push('<h2 id="training">Training</h2>');
    for (const [i, s] of report.training.entries()) body.push(...await sectionHtml(s, `training-${i}`, opts));
  }
  for (const t of report.tasks) {
    const id = `task-${anchor(t.name)}`;
    toc.push(`<a href="#${id}">Task ${escapeHtml(t.name)}</a>`);
    body.push(`<h2 id="${id}">Task ${escapeHtml(t.name)}</h2>`);
    if (t.sections.length === 0) body.push('<p>No evaluation (no validation or test rows).</p>');
    for (const [i, s] of t.sections.entries()) body.push(...await sectionHtml(s, `${id}-${i}`, opts));
  }
  return htmlPage(report.title, [`<nav>${toc.join('')}</nav>`, ...body]);
}

/** Writes <dir>/report.json and <dir>/report.html atomically; returns the HTML's path. */
export async function writeRunReport(dir: string, report: RunReport, opts: RenderOptions = {}): Promise<string> {
  const html = await runReportHtml(report, opts);
  writeFileAtomic(join(dir, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  const file = join(dir, 'report.html');
  writeFileAtomic(file, html);
  return file;
}
