/**
 * Vega-Lite spec → standalone SVG string, rendered in Node without a browser or canvas
 * (Vega's headless 'none' renderer, text widths estimated). vega and vega-lite are loaded on the
 * first chart only: together they take a few hundred ms to import, which `import 'ctrkit'` and
 * commands that draw nothing should not pay.
 */
import type { TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

export interface RenderOptions {
  /**
   * Where Vega / Vega-Lite warnings go (an empty scale domain, a dropped encoding…): each is a
   * chart that does not show what it should. Default: a line on stderr.
   */
  warn?: (message: string) => void;
}

interface Renderer {
  vega: typeof import('vega');
  vegaLite: typeof import('vega-lite');
}

let loading: Promise<Renderer> | undefined;

function renderer(): Promise<Renderer> {
  loading ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vegaLite]) => ({ vega, vegaLite }));
  return loading;
}

/** The subset of Vega's logger interface both libraries call; errors are thrown by them anyway. */
function logger(warn: (message: string) => void) {
  const text = (args: unknown[]): string => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  const log = {
    level(): number { return 2; }, // Warn
    error(...args: unknown[]) { throw new Error(`vega: ${text(args)}`); },
    warn(...args: unknown[]) { warn(text(args)); return log; },
    info() { return log; },
    debug() { return log; },
  };
  return log;
}

/** The chart as an <svg> element (no XML prologue), ready to inline in HTML or save as a .svg file. */
export async function renderSvg(spec: ChartSpec, opts: RenderOptions = {}): Promise<string> {
  const { vega, vegaLite } = await renderer();
  const log = logger(opts.warn ?? ((m) => process.stderr.write(`ctrkit: chart warning: ${m}\n`)));
  const compiled = vegaLite.compile(spec, { logger: log }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: log });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
