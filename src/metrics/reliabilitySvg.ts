/**
 * Renders a reliability diagram as a self-contained SVG document (no plotting dependency): axes
 * with ticks, the y = x diagonal, one point per bin at (mean p, mean y), a count bar per bin
 * along the bottom (relative to the largest bin) and the count printed next to each point.
 *
 * Axis range: [0, max] on both axes, with max the smallest of 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01
 * covering every mean: CTRs are small, and on a fixed [0, 1] square all points would sit in the corner.
 */
import { writeFile } from 'node:fs/promises';
import type { ReliabilityDiagram } from './reliability.js';

export interface ReliabilitySvgOptions {
  readonly title?: string;
  /** Square plot size in px (default 480). */
  readonly size?: number;
}

const RANGES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short fixed notation for labels: enough digits to tell ticks and means apart. */
function fmt(x: number): string {
  return x === 0 ? '0' : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2);
}

export function renderReliabilitySvg(d: ReliabilityDiagram, opts: ReliabilitySvgOptions = {}): string {
  const size = opts.size ?? 480;
  const margin = { left: 60, right: 20, top: 40, bottom: 50 };
  const W = size + margin.left + margin.right;
  const H = size + margin.top + margin.bottom;
  let hi = 0;
  for (const b of d.bins) hi = Math.max(hi, b.meanPrediction, b.meanLabel);
  const max = RANGES.find((r) => hi <= r) ?? 1;
  const sx = (v: number): number => margin.left + (v / max) * size;
  const sy = (v: number): number => margin.top + size - (v / max) * size;
  const n = (v: number): string => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  const title = opts.title ?? 'Reliability diagram';
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)} (ECE ${d.ece.toPrecision(3)}, ${d.rows} rows, ${d.bins.length} bins)</text>`);
  // Count bars first so points and the diagonal draw over them.
  const maxCount = Math.max(...d.bins.map((b) => b.count));
  const barH = size * 0.15;
  parts.push('<g class="counts" fill="#cfd8e3">');
  for (const b of d.bins) {
    const x0 = sx(Math.min(b.minPrediction, max)), x1 = sx(Math.min(b.maxPrediction, max));
    const w = Math.max(2, x1 - x0);
    const h = (b.count / maxCount) * barH;
    parts.push(`<rect x="${n(x0)}" y="${n(margin.top + size - h)}" width="${n(w)}" height="${n(h)}"/>`);
  }
  parts.push('</g>');
  // Axes and ticks.
  parts.push(`<g class="axes" stroke="black" fill="none"><line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(max)}" y2="${sy(0)}"/><line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(0)}" y2="${sy(max)}"/></g>`);
  parts.push('<g class="ticks">');
  for (let t = 0; t <= 5; t++) {
    const v = (max * t) / 5;
    parts.push(`<line x1="${n(sx(v))}" y1="${n(sy(0))}" x2="${n(sx(v))}" y2="${n(sy(0) + 5)}" stroke="black"/><text x="${n(sx(v))}" y="${n(sy(0) + 18)}" text-anchor="middle">${fmt(v)}</text>`);
    parts.push(`<line x1="${n(sx(0) - 5)}" y1="${n(sy(v))}" x2="${n(sx(0))}" y2="${n(sy(v))}" stroke="black"/><text x="${n(sx(0) - 8)}" y="${n(sy(v) + 4)}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push('</g>');
  parts.push(`<text x="${margin.left + size / 2}" y="${H - 10}" text-anchor="middle">mean predicted probability</text>`);
  parts.push(`<text x="15" y="${margin.top + size / 2}" text-anchor="middle" transform="rotate(-90 15 ${margin.top + size / 2})">observed rate (mean label)</text>`);
  parts.push(`<line class="diagonal" x1="${sx(0)}" y1="${sy(0)}" x2="${sx(max)}" y2="${sy(max)}" stroke="#888" stroke-dasharray="4 4"/>`);
  parts.push('<g class="bins">');
  for (const b of d.bins) {
    const cx = n(sx(b.meanPrediction)), cy = n(sy(b.meanLabel));
    parts.push(`<circle cx="${cx}" cy="${cy}" r="4" fill="#1f77b4"><title>bin ${b.index}: mean p ${b.meanPrediction}, mean y ${b.meanLabel}, ${b.count} rows</title></circle>`);
    parts.push(`<text x="${cx}" y="${n(sy(b.meanLabel) - 8)}" text-anchor="middle" font-size="9" fill="#333">${b.count}</text>`);
  }
  parts.push('</g>');
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Renders and writes the SVG to `file`. */
export async function writeReliabilitySvg(file: string, d: ReliabilityDiagram, opts: ReliabilitySvgOptions = {}): Promise<void> {
  await writeFile(file, renderReliabilitySvg(d, opts), 'utf8');
}
