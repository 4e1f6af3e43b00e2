/**
 * A multi-series line chart as a self-contained SVG (no plotting dependency), for the
 * experiment report's gradient-norm curves. The y axis is logarithmic when every value is
 * positive: gradient norms of BCE and ranking losses differ by orders of magnitude, which a
 * linear axis would flatten into the floor.
 */
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
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function tick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

export function renderLineChart(series: readonly LineSeries[], opts: LineChartOptions = {}): string {
  const W = opts.width ?? 720, H = opts.height ?? 400;
  const m = { left: 70, right: 20, top: 36, bottom: 50 };
  const legendH = 16 * series.length;
  const plotH = H - m.top - m.bottom;
  const plotW = W - m.left - m.right;
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y.filter((v): v is number => v !== null && Number.isFinite(v)));
  const parts: string[] = [];
  const totalH = H + legendH;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${totalH}" viewBox="0 0 ${W} ${totalH}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${totalH}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title ?? '')}</text>`);
  if (xs.length === 0 || ys.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`);
    return `${parts.join('\n')}\n`;
  }
  const log = ys.every((v) => v > 0);
  const f = (v: number): number => (log ? Math.log10(v) : v);
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = Math.min(...ys.map(f)), y1 = Math.max(...ys.map(f));
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= log ? 0.5 : Math.abs(y0) * 0.1 || 1; y1 += log ? 0.5 : Math.abs(y1) * 0.1 || 1; }
  const sx = (v: number): number => m.left + ((v - x0) / (x1 - x0)) * plotW;
  const sy = (v: number): number => m.top + plotH - ((f(v) - y0) / (y1 - y0)) * plotH;
  const n = (v: number): string => v.toFixed(1);
  parts.push(`<g stroke="black" fill="none"><line x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" y2="${m.top + plotH}"/><line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}"/></g>`);
  parts.push('<g class="ticks">');
  for (let t = 0; t <= 5; t++) {
    const xv = x0 + ((x1 - x0) * t) / 5;
    parts.push(`<text x="${n(sx(xv))}" y="${m.top + plotH + 16}" text-anchor="middle">${tick(Math.round(xv))}</text>`);
    const fy = y0 + ((y1 - y0) * t) / 5;
    const yv = log ? 10 ** fy : fy;
    const py = m.top + plotH - (t / 5) * plotH;
    parts.push(`<line x1="${m.left - 4}" y1="${n(py)}" x2="${m.left}" y2="${n(py)}" stroke="black"/><text x="${m.left - 6}" y="${n(py + 4)}" text-anchor="end">${tick(yv)}</text>`);
  }
  parts.push('</g>');
  parts.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH + 36}" text-anchor="middle">${esc(opts.xLabel ?? '')}</text>`);
  const yl = `${opts.yLabel ?? ''}${log ? ' (log scale)' : ''}`;
  parts.push(`<text x="14" y="${m.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.top + plotH / 2})">${esc(yl)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const segs: string[] = [];
    let cur: string[] = [];
    s.x.forEach((xv, k) => {
      const yv = s.y[k];
      if (yv === null || yv === undefined || !Number.isFinite(yv) || (log && yv <= 0)) {
        if (cur.length) segs.push(cur.join(' '));
        cur = [];
        return;
      }
      cur.push(`${n(sx(xv))},${n(sy(yv))}`);
    });
    if (cur.length) segs.push(cur.join(' '));
    for (const pts of segs) {
      parts.push(pts.includes(' ')
        ? `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"><title>${esc(s.name)}</title></polyline>`
        : `<circle cx="${pts.split(',')[0]}" cy="${pts.split(',')[1]}" r="2" fill="${color}"><title>${esc(s.name)}</title></circle>`);
    }
    const ly = H + 16 * i;
    parts.push(`<line x1="${m.left}" y1="${ly - 4}" x2="${m.left + 20}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/><text x="${m.left + 26}" y="${ly}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
