/**
 * The experiment report, <output>/report.md and <output>/report.html, built from the run
 * summaries alone (so a re-run that trains nothing writes the same bytes):
 *   - per cell: mean ± 95 % CI half-width (t-based over its seeds) of each report metric;
 *   - per cell: the difference from the baseline (first) cell with its 95 % CI, paired by seed;
 *   - the negative-logit gradient norm per logged step, mean over seeds, one line per cell
 *     (when the runs logged gradient probes);
 *   - the test reliability diagram of each cell's first seed;
 *   - per cell, when the runs recorded it: dense weights, train rows/s and the machine's load.
 * The charts are Vega-Lite specs rendered to SVG (src/report/): inline in the HTML, and files
 * under <output>/charts/ linked from the Markdown.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { lineChartSpec, reliabilitySpec, type LineSeries } from '../report/charts.js';
import { htmlPage, htmlTable, inlineText } from '../report/html.js';
import { renderSvg, type RenderOptions } from '../report/vega.js';
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

export async function buildReport(grid: GridConfig, cells: readonly GridCell[], summaries: readonly RunSummary[], opts: RenderOptions = {}): Promise<ExperimentReport> {
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
    charts.set(`${GRAD_PROBE}.svg`, await renderSvg(lineChartSpec(series, {
      title: 'Mean |∂L/∂z| over negative samples (mean over seeds)', xLabel: 'global step', yLabel: GRAD_PROBE,
    }), opts));
  }
  const reliability: { cell: string; seed: number; file: string }[] = [];
  for (const c of cells) {
    const first = grid.seeds.map((s) => runsOf.get(c.name)!.find((r) => r.seed === s)).find((r) => r?.reliability);
    if (!first?.reliability) continue;
    const file = `reliability-${fileSafe(c.name)}.svg`;
    charts.set(file, await renderSvg(reliabilitySpec([{ name: c.name, bins: first.reliability.bins }], {
      title: c.name, subtitle: `seed ${first.seed}: ECE ${first.reliability.ece.toPrecision(3)}, ${first.reliability.rows} rows`, size: 260,
    }), opts));
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
  const h: string[] = [...intro, ...(axisNote ? [axisNote] : [])].map((l) => `<p>${inlineText(l)}</p>`);
  h.push('<h2>Test metrics</h2>', htmlTable(['cell', 'n', ...metrics], stats.map((s) => [s.cell.name, String(s.n), ...s.ci.map((c) => ciText(c))])));
  h.push(`<h2>Difference vs baseline (${inlineText(baseline.name)})</h2>`);
  if (diffs.length === 0) h.push('<p>(one cell only)</p>');
  else h.push(htmlTable(['cell', ...metrics.map((m) => `Δ ${m}`)], diffs.map((d) => [d.cell.name, ...d.d.map(diffText)])));
  if (cost) {
    h.push('<h2>Cost</h2>', `<p>${inlineText(COST_NOTE)}</p>`, `<p>Machine: ${inlineText(cost.machines.join('; '))}.</p>`);
    h.push(htmlTable(['cell', ...COST_HEAD], cost.rows.map((c) => [c.cell, ...costCells(c, cost.rows[0]!)])));
  }
  h.push('<h2>Negative-logit gradient norm</h2>');
  h.push(charts.get(`${GRAD_PROBE}.svg`) ?? '<p>No gradient probes in the logs (set <code>train.probes: true</code>).</p>');
  h.push('<h2>Reliability diagrams (test rows, first seed of each cell)</h2>', '<div class="figs">');
  for (const r of reliability) h.push(`<figure>${charts.get(r.file)!}</figure>`);
  h.push('</div>');

  return { markdown: md.join('\n'), html: htmlPage(title, h), charts };
}

/** Writes report.md, report.html and charts/ under `dir`, each file atomically. */
export function writeReport(dir: string, report: ExperimentReport): void {
  mkdirSync(join(dir, 'charts'), { recursive: true });
  for (const [name, svg] of report.charts) writeFileAtomic(join(dir, 'charts', name), svg);
  writeFileAtomic(join(dir, 'report.md'), report.markdown);
  writeFileAtomic(join(dir, 'report.html'), report.html);
}
