/**
 * The self-contained HTML page every report is written as: inline CSS and inline SVG charts,
 * no script, no external resource, so the file opens offline and can be mailed or archived as is.
 */

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escaped text with `backticks` as <code>. */
export function inlineText(s: string): string {
  return escapeHtml(s).replace(/`([^`]*)`/g, '<code>$1</code>');
}

const STYLE = [
  'body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}',
  'table{border-collapse:collapse;margin:0.5em 0 1em}',
  'td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}',
  'td:first-child,th:first-child{text-align:left}',
  'th{background:#f4f4f4}',
  'svg{max-width:100%;height:auto;display:block}',
  'figure{margin:0.5em 0 1.5em}',
  'figcaption{color:#555;font-size:0.9em}',
  '.figs{display:flex;flex-wrap:wrap;gap:12px}',
  'nav a{margin-right:1em}',
  'code{background:#f4f4f4;padding:0 3px}',
].join('');

/** A whole document around `body` (already HTML). */
export function htmlPage(title: string, body: readonly string[]): string {
  return [
    '<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`, `<style>${STYLE}</style>`, '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`, ...body, '</body></html>', '',
  ].join('\n');
}

/** A table of already-formatted cells (escaped here); the first column is the row label. */
export function htmlTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const tr = (cells: readonly string[], tag: 'th' | 'td'): string => `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return `<table>${tr(head, 'th')}${rows.map((r) => tr(r, 'td')).join('')}</table>`;
}
