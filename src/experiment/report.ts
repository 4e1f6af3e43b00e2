/**
 * The experiment report, <output>/report.md and <output>/report.html, built from the run
 * summaries alone (so a re-run that trains nothing writes the same bytes):
 *   - per cell: mean ± 95 % CI half-width (t-based over its seeds) of each report metric;
 *   - per cell: the difference from the baseline (first) cell with its 95 % CI, paired by seed;
 *   - the negative-logit gradient norm per logged step, mean over seeds, one line per cell
 *     (when the runs logged gradient probes);
 *   - the test reliability diagram of each cell's first seed;
 *   - per cell, when the runs recorded it: dense weights, train rows/s and the machine's load.
 * The charts are SVG: inline in the HTML, and files under <output>/charts/ linked from the
 * Markdown.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { renderReliabilitySvg } from '../metrics/reliabilitySvg.js';
import { renderLineChart, type LineSeries } from './lineChart.js';
import { meanCI, pairedDifferenceCI, type MeanCI } from './stats.js';
import type { GridCell, GridConfig } from './grid.js';
import type { RunSummary } from './runSummary.js';

export interface ExperimentReport {
  markdown: string;
  html: string;
  /** SVG files by name relative to <output>/charts. */
  charts: Map<string, string>;
}

/** The probe plotted over steps (KDD'24 Fig. 3: it is what ranking losses enlarge). */
const GRAD_PROBE = 'grad_neg_logit';

function num(v: number, digits = 4): string {
  return v.toFixed(digits);
}

function ciText(c: MeanCI | null, signed = false): string {
  if (!c) return 'n/a';
  const m = signed && c.mean >= 0 ? `+${num(c.mean)}` : num(c.mean);
  return c.halfWidth === null ? `${m} (n=1)` : `${m} ± ${num(c.halfWidth)}`;
}

function diffText(c: MeanCI | null): string {
  if (!c) return 'n/a';
  const m = `${c.mean >= 0 ? '+' : ''}${num(c.mean)}`;
  return c.lower === null || c.upper === null ? `${m} (n=1)` : `${m} [${num(c.lower)}, ${num(c.upper)}]${c.lower > 0 || c.upper < 0 ? ' *' : ''}`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9._=,+-]/g, '-');
}

/** Values of one test metric by seed for a cell's runs. */
function bySeed(runs: readonly RunSummary[], metric: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of runs) {
    const v = r.test[metric];
    if (typeof v === 'number' && Number.isFinite(v)) m.set(r.seed, v);
  }
  return m;
}

/** Mean over seeds of the gradient probe at each logged step of a cell. */
function gradientSeries(cell: string, runs: readonly RunSummary[]): LineSeries | null {
  const acc = new Map<number, { s: number; n: number }>();
  for (const r of runs) {
    const ys = r.probes?.values[GRAD_PROBE];
    if (!r.probes || !ys) continue;
    r.probes.steps.forEach((step, i) => {
      const v = ys[i];
      if (typeof v !== 'number') return;
      const a = acc.get(step) ?? { s: 0, n: 0 };
      a.s += v;
      a.n++;
      acc.set(step, a);
    });
  }
  if (acc.size === 0) return null;
  const x = [...acc.keys()].sort((a, b) => a - b);
  return { name: cell, x, y: x.map((s) => acc.get(s)!.s / acc.get(s)!.n) };
}

interface CellCost {
  cell: string;
  denseParams: number | null;
  rowsPerSec: MeanCI | null;
  load: [number, number] | null;
}

/** Per cell: dense weights, train rows/s over seeds, the load range; null when no run recorded costs. */
function costTable(cells: readonly GridCell[], runsOf: ReadonlyMap<string, readonly RunSummary[]>): { rows: CellCost[]; machines: string[] } | null {
  const all = cells.flatMap((c) => runsOf.get(c.name)!).filter((r) => r.cost);
  if (all.length === 0) return null;
  const machines = [...new Set(all.map((r) => `${r.cost!.cpu}, ${r.cost!.threads} thread${r.cost!.threads === 1 ? '' : 's'} per run`))].sort();
  const rows = cells.map((c) => {
    const runs = runsOf.get(c.name)!.filter((r) => r.cost);
    const rates = runs.map((r) => r.cost!.trainRowsPerSec).filter((v): v is number => v !== null);
    const loads = runs.map((r) => r.cost!.loadAvg1m);
    return {
      cell: c.name, denseParams: runs[0]?.cost!.denseParams ?? null, rowsPerSec: rates.length > 0 ? meanCI(rates) : null,
      load: loads.length > 0 ? [Math.min(...loads), Math.max(...loads)] as [number, number] : null,
    };
  });
  return { rows, machines };
}

function costCells(c: CellCost, base: CellCost): string[] {
  const ratio = (a: number | null | undefined, b: number | null | undefined): string => (a != null && b ? ` (${(a / b).toFixed(2)}×)` : '');
  return [
    c.denseParams === null ? 'n/a' : `${c.denseParams.toLocaleString('en-US')}${ratio(c.denseParams, base.denseParams)}`,
    c.rowsPerSec === null ? 'n/a' : `${c.rowsPerSec.mean.toFixed(0)}${c.rowsPerSec.halfWidth === null ? '' : ` ± ${c.rowsPerSec.halfWidth.toFixed(0)}`}${ratio(c.rowsPerSec.mean, base.rowsPerSec?.mean)}`,
    c.load === null ? 'n/a' : `${c.load[0].toFixed(2)}–${c.load[1].toFixed(2)}`,
  ];
}

const COST_HEAD = ['dense weights (× baseline)', 'train rows/s (× baseline)', '1-min load avg at run end'];
const COST_NOTE = 'Dense weights exclude the embedding tables (each costs about one multiply-add per row in the forward pass); rows/s are fit rows per second of training (validation excluded), mean ± 95 % CI over the seeds, and depend on what else the machine ran: hence the load range.';

export function buildReport(grid: GridConfig, cells: readonly GridCell[], summaries: readonly RunSummary[]): ExperimentReport {
  const runsOf = new Map(cells.map((c) => [c.name, summaries.filter((s) => s.cell === c.name)]));
  const metrics = grid.metrics;
  const baseline = cells[0]!;
  const charts = new Map<string, string>();

  const stats = cells.map((c) => ({ cell: c, n: runsOf.get(c.name)!.length, ci: metrics.map((m) => meanCI([...bySeed(runsOf.get(c.name)!, m).values()])) }));
  const diffs = cells.slice(1).map((c) => ({
    cell: c, d: metrics.map((m) => pairedDifferenceCI(bySeed(runsOf.get(c.name)!, m), bySeed(runsOf.get(baseline.name)!, m))),
  }));

  const series = cells.map((c) => gradientSeries(c.name, runsOf.get(c.name)!)).filter((s): s is LineSeries => s !== null);
  if (series.length > 0) {
    charts.set(`${GRAD_PROBE}.svg`, renderLineChart(series, {
      title: 'Mean |∂L/∂z| over negative samples (mean over seeds)', xLabel: 'global step', yLabel: GRAD_PROBE,
    }));
  }
  const reliability: { cell: string; seed: number; file: string }[] = [];
  for (const c of cells) {
    const first = grid.seeds.map((s) => runsOf.get(c.name)!.find((r) => r.seed === s)).find((r) => r?.reliability);
    if (!first?.reliability) continue;
    const file = `reliability-${fileSafe(c.name)}.svg`;
    charts.set(file, renderReliabilitySvg(first.reliability, { title: `${c.name}, seed ${first.seed}`, size: 320 }));
    reliability.push({ cell: c.name, seed: first.seed, file });
  }

  const total = cells.length * grid.seeds.length;
  const title = `Experiment ${basename(grid.file)}`;
  const intro = [
    `Base config: \`${grid.base}\`. Seeds: ${grid.seeds.join(', ')}. Finished runs: ${summaries.length} of ${total}.`,
    `Test metrics: mean ± 95 % CI half-width (Student t over the seeds of each cell).`,
    `Differences: cell − baseline (\`${baseline.name}\`), paired by seed, with the 95 % CI; * marks an interval that excludes 0.`,
  ];
  const axisNote = grid.axes.length > 0 ? `Grid: ${grid.axes.map((a) => `\`${a.key}\` (${a.values.length})`).join(' × ')}.` : '';

  // Markdown.
  const md: string[] = [`# ${title}`, '', ...intro, ...(axisNote ? [axisNote] : []), '', '## Test metrics', ''];
  md.push(`| cell | n | ${metrics.join(' | ')} |`, `|---|---|${metrics.map(() => '---').join('|')}|`);
  for (const s of stats) md.push(`| ${s.cell.name} | ${s.n} | ${s.ci.map((c) => ciText(c)).join(' | ')} |`);
  md.push('', `## Difference vs baseline (${baseline.name})`, '');
  if (diffs.length === 0) md.push('(one cell only)');
  else {
    md.push(`| cell | ${metrics.map((m) => `Δ ${m}`).join(' | ')} |`, `|---|${metrics.map(() => '---').join('|')}|`);
    for (const d of diffs) md.push(`| ${d.cell.name} | ${d.d.map(diffText).join(' | ')} |`);
  }
  const cost = costTable(cells, runsOf);
  if (cost) {
    md.push('', '## Cost', '', COST_NOTE, `Machine: ${cost.machines.join('; ')}.`, '');
    md.push(`| cell | ${COST_HEAD.join(' | ')} |`, `|---|${COST_HEAD.map(() => '---').join('|')}|`);
    for (const c of cost.rows) md.push(`| ${c.cell} | ${costCells(c, cost.rows[0]!).join(' | ')} |`);
  }
  md.push('', '## Negative-logit gradient norm', '');
  md.push(series.length > 0 ? `![${GRAD_PROBE}](charts/${GRAD_PROBE}.svg)` : 'No gradient probes in the logs (set `train.probes: true`).');
  md.push('', '## Reliability diagrams (test rows, first seed of each cell)', '');
  if (reliability.length === 0) md.push('None (no binary test labels).');
  for (const r of reliability) md.push(`- ${r.cell} (seed ${r.seed}): ![reliability](charts/${r.file})`);
  md.push('');

  // HTML.
  const h: string[] = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">', `<title>${esc(title)}</title>`,
    '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.figs{display:flex;flex-wrap:wrap;gap:12px}</style>',
    '</head><body>', `<h1>${esc(title)}</h1>`, ...intro.map((l) => `<p>${esc(l).replace(/`([^`]*)`/g, '<code>$1</code>')}</p>`)];
  if (axisNote) h.push(`<p>${esc(axisNote).replace(/`([^`]*)`/g, '<code>$1</code>')}</p>`);
  h.push('<h2>Test metrics</h2>', `<table><tr><th>cell</th><th>n</th>${metrics.map((m) => `<th>${esc(m)}</th>`).join('')}</tr>`);
  for (const s of stats) h.push(`<tr><td>${esc(s.cell.name)}</td><td>${s.n}</td>${s.ci.map((c) => `<td>${esc(ciText(c))}</td>`).join('')}</tr>`);
  h.push('</table>', `<h2>Difference vs baseline (${esc(baseline.name)})</h2>`);
  if (diffs.length === 0) h.push('<p>(one cell only)</p>');
  else {
    h.push(`<table><tr><th>cell</th>${metrics.map((m) => `<th>Δ ${esc(m)}</th>`).join('')}</tr>`);
    for (const d of diffs) h.push(`<tr><td>${esc(d.cell.name)}</td>${d.d.map((c) => `<td>${esc(diffText(c))}</td>`).join('')}</tr>`);
    h.push('</table>');
  }
  if (cost) {
    h.push('<h2>Cost</h2>', `<p>${esc(COST_NOTE)}</p>`, `<p>Machine: ${esc(cost.machines.join('; '))}.</p>`);
    h.push(`<table><tr><th>cell</th>${COST_HEAD.map((t) => `<th>${esc(t)}</th>`).join('')}</tr>`);
    for (const c of cost.rows) h.push(`<tr><td>${esc(c.cell)}</td>${costCells(c, cost.rows[0]!).map((t) => `<td>${esc(t)}</td>`).join('')}</tr>`);
    h.push('</table>');
  }
  h.push('<h2>Negative-logit gradient norm</h2>');
  h.push(charts.get(`${GRAD_PROBE}.svg`) ?? '<p>No gradient probes in the logs (set <code>train.probes: true</code>).</p>');
  h.push('<h2>Reliability diagrams (test rows, first seed of each cell)</h2>', '<div class="figs">');
  for (const r of reliability) h.push(`<figure>${charts.get(r.file)!}<figcaption>${esc(r.cell)}</figcaption></figure>`);
  h.push('</div>', '</body></html>', '');

  return { markdown: md.join('\n'), html: h.join('\n'), charts };
}

/** Writes report.md, report.html and charts/ under `dir`, each file atomically. */
export function writeReport(dir: string, report: ExperimentReport): void {
  mkdirSync(join(dir, 'charts'), { recursive: true });
  for (const [name, svg] of report.charts) writeFileAtomic(join(dir, 'charts', name), svg);
  writeFileAtomic(join(dir, 'report.md'), report.markdown);
  writeFileAtomic(join(dir, 'report.html'), report.html);
}
