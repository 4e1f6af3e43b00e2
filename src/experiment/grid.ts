/**
 * An experiment grid config: a base experiment config, dotted-path overrides that vary over a
 * cartesian grid, and the seeds every cell runs with.
 *
 *   base: examples/criteo.yaml            # an experiment config (data, model, train, output)
 *   set: { train.probes: true }           # optional: overrides applied to every cell
 *   grid:                                 # axes, first key outermost; first values = baseline cell
 *     train.loss: [ { type: bce }, { type: combined-pair, alpha: 0.5 } ]
 *     train.loss.betaPos: [ 0.1, 1.0 ]    # applied after train.loss, so it edits that loss
 *     seeds: [ 1, 2, 3 ]                  # or a top-level `seeds:`; default [train.seed]
 *     train.tasks: { esmm: [...], shadow: [...] }   # an axis as a mapping: its values by name (the cells' names)
 *   output: runs/exp
 *   parallel: 2                           # runs at once (child processes), default 1
 *   metrics: [ auc, logloss, ece ]        # test metrics of the report (default these three)
 *   after: [ experiments/teacher.yaml ]   # grids run first (`ctrkit experiment`), e.g. a teacher per seed
 *
 * A value null removes its key from the cell's config (`train.search: { baseline: null, … }`).
 *
 * `${seed}` in any string of a cell's config is replaced by the run's seed, so a run can read what
 * the same seed's run of an `after` grid wrote (`teacher: { model: runs/t/runs/base/seed${seed}/model }`).
 *
 * A dotted key walks mappings by name and lists by index (`data.labels.0.positive`); missing
 * mappings along the way are created, anything else in the way is an error naming the key.
 * Paths (base, output, after) resolve against baseDir, the current directory by default, like the
 * data paths of experiment configs.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { loadConfigFile } from '../schema/index.js';
import { parseExperimentConfig, type ExperimentConfig } from './config.js';

const SECTIONS = ['data', 'model', 'train', 'output'];

const gridFileSchema = z.strictObject({
  base: z.string().min(1),
  set: z.record(z.string(), z.unknown()).optional(),
  grid: z.record(z.string(), z.union([
    z.array(z.unknown()).min(1, 'an axis needs at least one value'),
    z.record(z.string(), z.unknown()).refine((m) => Object.keys(m).length > 0, 'an axis needs at least one value'),
  ])).optional(),
  seeds: z.array(z.number().int().min(0)).min(1).optional(),
  output: z.string().min(1),
  parallel: z.number().int().positive().default(1),
  metrics: z.array(z.string().min(1)).min(1).default(['auc', 'logloss', 'ece']),
  after: z.array(z.string().min(1)).min(1).optional(),
});

export interface GridAxis {
  key: string;
  values: readonly unknown[];
  /** The values' names, for an axis written as a mapping (long values such as task lists read badly as slugs). */
  names?: readonly string[];
}

export interface GridConfig {
  /** The grid file (absolute) and the base experiment config it varies (absolute). */
  file: string;
  base: string;
  /** The base config as read (before any override). */
  baseRaw: unknown;
  /** Overrides applied to every cell, before the axes. */
  set: readonly [string, unknown][];
  axes: readonly GridAxis[];
  seeds: readonly number[];
  output: string;
  parallel: number;
  metrics: readonly string[];
  /** Grid files (absolute) whose runs this one reads: `ctrkit experiment` runs them first. */
  after: readonly string[];
  baseDir: string;
}

export interface GridCell {
  /** Directory-safe name made of the axis values, e.g. `loss=combined-pair_alpha0.5,betaPos=0.1`. */
  name: string;
  /** This cell's axis overrides, in axis order. */
  overrides: readonly [string, unknown][];
}

export class GridConfigError extends Error {}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy of a JSON-like value (configs are plain YAML/JSON data). */
function clone<T>(v: T): T {
  return structuredClone(v);
}

/**
 * Sets `key` (dotted) in a copy of `config`; throws GridConfigError naming the key when it cannot.
 * A null value removes the key instead (no experiment config setting takes null), so a cell can
 * drop a section of the base, e.g. `train.search: null` for the baseline of a search grid.
 */
export function setDotted(config: unknown, key: string, value: unknown): unknown {
  const parts = key.split('.');
  if (parts.some((p) => p === '')) throw new GridConfigError(`grid key '${key}': empty path segment`);
  if (!SECTIONS.includes(parts[0]!)) {
    throw new GridConfigError(`grid key '${key}': '${parts[0]}' is not a section of an experiment config (expected ${SECTIONS.join(', ')})`);
  }
  if (!isMapping(config)) throw new GridConfigError(`grid key '${key}': the base config is not a mapping`);
  const root = clone(config);
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    const last = i === parts.length - 1;
    const at = parts.slice(0, i + 1).join('.');
    if (Array.isArray(node)) {
      const idx = Number(seg);
      if (!(Number.isInteger(idx) && idx >= 0 && idx < node.length)) {
        throw new GridConfigError(`grid key '${key}': '${parts.slice(0, i).join('.')}' is a list of ${node.length}; '${seg}' is not an index of it`);
      }
      if (last) { node[idx] = clone(value); break; }
      const next: unknown = node[idx];
      if (!isMapping(next) && !Array.isArray(next)) throw new GridConfigError(`grid key '${key}': '${at}' is ${JSON.stringify(next)}, not a mapping or list`);
      node = next;
    } else {
      if (last) {
        if (value === null) delete node[seg];
        else node[seg] = clone(value);
        break;
      }
      let next: unknown = node[seg];
      if (next === undefined) next = node[seg] = {};
      if (!isMapping(next) && !Array.isArray(next)) throw new GridConfigError(`grid key '${key}': '${at}' is ${JSON.stringify(next)}, not a mapping or list`);
      node = next;
    }
  }
  return root;
}

/** The base config with the overrides applied in order. */
export function applyOverrides(config: unknown, overrides: readonly (readonly [string, unknown])[]): unknown {
  return overrides.reduce<unknown>((c, [k, v]) => setDotted(c, k, v), config);
}

/** Short directory-safe rendering of an axis value: `{type: combined-pair, alpha: 0.5}` → `combined-pair_alpha0.5`. */
export function valueSlug(v: unknown): string {
  let s: string;
  if (Array.isArray(v)) s = v.map(valueSlug).join('+');
  else if (isMapping(v)) {
    const entries = Object.entries(v);
    const type = entries.find(([k]) => k === 'type');
    s = [...(type ? [valueSlug(type[1])] : []), ...entries.filter(([k]) => k !== 'type').map(([k, x]) => `${k}${valueSlug(x)}`)].join('_');
  } else s = String(v);
  return s.replace(/[^A-Za-z0-9._+-]/g, '-');
}

/**
 * Cells of the cartesian product, first axis outermost, so the first cell (every axis at its
 * first value) is the baseline. Axes are labelled by their key's last segment unless two
 * axes share it.
 */
export function expandGrid(axes: readonly GridAxis[]): GridCell[] {
  if (axes.length === 0) return [{ name: 'base', overrides: [] }];
  const lastSeg = axes.map((a) => a.key.split('.').pop()!);
  const labels = axes.map((a, i) => (lastSeg.filter((s) => s === lastSeg[i]).length > 1 ? a.key : lastSeg[i]!));
  let cells: [string, unknown, string][][] = [[]];
  for (const a of axes) cells = cells.flatMap((c) => a.values.map((v, j) => [...c, [a.key, v, a.names?.[j] ?? valueSlug(v)] as [string, unknown, string]]));
  const out = cells.map((cell) => ({
    name: cell.map(([, , slug], i) => `${labels[i]}=${slug}`).join(','),
    overrides: cell.map(([k, v]) => [k, v] as [string, unknown]),
  }));
  const seen = new Set<string>();
  for (const c of out) {
    if (seen.has(c.name)) throw new GridConfigError(`two grid cells are both named '${c.name}': make the axis values distinct`);
    seen.add(c.name);
  }
  return out;
}

/** Reads a grid file; `baseDir` (default cwd) resolves base and output. */
export async function loadGridConfig(file: string, baseDir = process.cwd()): Promise<GridConfig> {
  const raw = await loadConfigFile(file);
  const r = gridFileSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new GridConfigError(`${file}: ${i.path.map(String).join('.') || 'config'}: ${i.message}`);
  }
  const g = r.data;
  const axes: GridAxis[] = [];
  let seeds = g.seeds;
  for (const [key, axis] of Object.entries(g.grid ?? {})) {
    const values = Array.isArray(axis) ? axis : Object.values(axis);
    if (key === 'seeds') {
      if (!Array.isArray(axis)) throw new GridConfigError(`${file}: grid.seeds: expected a list of seeds`);
      if (seeds) throw new GridConfigError(`${file}: seeds given both at the top level and in grid`);
      if (!values.every((s) => Number.isInteger(s) && (s as number) >= 0)) throw new GridConfigError(`${file}: grid.seeds: expected non-negative integers`);
      seeds = values as number[];
    } else {
      const names = Array.isArray(axis) ? undefined : Object.keys(axis);
      const bad = names?.find((n) => !/^[A-Za-z0-9._+-]+$/.test(n));
      if (bad !== undefined) throw new GridConfigError(`${file}: grid.${key}: value name ${JSON.stringify(bad)}: a value name is letters, digits and . _ + - (it names the cells' directories)`);
      axes.push({ key, values, ...(names && { names }) });
    }
  }
  const base = resolve(baseDir, g.base);
  const baseRaw = await loadConfigFile(base);
  const set = Object.entries(g.set ?? {});
  const grid: GridConfig = {
    file: resolve(file), base, baseRaw, set, axes, seeds: seeds ?? [], output: resolve(baseDir, g.output),
    parallel: g.parallel, metrics: g.metrics, after: (g.after ?? []).map((a) => resolve(baseDir, a)), baseDir,
  };
  const cells = expandGrid(axes);
  if (!seeds) grid.seeds = [cellConfig(grid, cells[0]!).train.seed];
  // Every cell's config is validated before anything runs: a typo in the last cell should not
  // surface hours into the experiment.
  for (const c of cells) for (const seed of grid.seeds) cellConfig(grid, c, seed);
  if (new Set(grid.seeds).size !== grid.seeds.length) throw new GridConfigError(`${file}: seeds repeat: ${grid.seeds.join(', ')}`);
  return grid;
}

/** `value` with every `${seed}` in its strings replaced by `seed`. */
export function substituteSeed(value: unknown, seed: number): unknown {
  if (typeof value === 'string') return value.replaceAll('${seed}', String(seed));
  if (Array.isArray(value)) return value.map((v) => substituteSeed(v, seed));
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteSeed(v, seed)]));
  return value;
}

/** The raw config of a cell: base, then `set`, then the cell's axis values; with a seed, `${seed}` replaced. */
export function cellRawConfig(grid: GridConfig, cell: GridCell, seed?: number): unknown {
  try {
    const raw = applyOverrides(applyOverrides(grid.baseRaw, grid.set), cell.overrides);
    return seed === undefined ? raw : substituteSeed(raw, seed);
  } catch (e) {
    throw new GridConfigError(`${grid.file}: ${(e as Error).message}`);
  }
}

/** The validated experiment config of a cell (for one seed); errors name the grid file and the cell. */
export function cellConfig(grid: GridConfig, cell: GridCell, seed?: number): ExperimentConfig {
  const raw = cellRawConfig(grid, cell, seed);
  try {
    return parseExperimentConfig(raw, `${grid.base} [cell ${cell.name}]`, grid.baseDir);
  } catch (e) {
    throw new GridConfigError(`${grid.file}: ${(e as Error).message}`);
  }
}

/**
 * Identifies what a run computes (its config, seed and, when it reads one, its two-stage teacher's
 * manifest hash): a stored result with another hash is stale.
 */
export function runHash(raw: unknown, seed: number, teacher?: string): string {
  return createHash('sha256').update(JSON.stringify({ config: raw, seed, ...(teacher === undefined ? {} : { teacher }) })).digest('hex').slice(0, 16);
}
