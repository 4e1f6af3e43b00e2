/**
 * `npm run bench -- arch BASE [MODEL…] [--threads 1,2] [--rounds 9] [--window-sec 0.2]
 *  [--infer-batch 4096,100] [--pool 16] [--markdown] [--json]`
 *
 * Training and inference rows/s of several architectures side by side on the real data — made for
 * the efficiency search (docs/search.md): the baseline against the `model` sections the searches
 * chose. BASE is an experiment config or an experiment grid (its base with `set` applied); its data
 * is read and fitted as a run would, and its `model` is the baseline, the reference of every ratio.
 * A MODEL is a config file with a `model` section (a search's chosen.yaml), a file holding a model
 * section, or an inline one (`'{ type: dcnv2, dim: 16, hidden: [256, 400, 400], crossLayers: 3 }'`);
 * identical sections are measured once and counted, and files at `<cell>/seed<k>/chosen.yaml`
 * (an experiment grid's run directories) are named by cell and seeds.
 *
 * Per thread count, per phase — a training step (forward, backward and the config's optimiser
 * on a batch of train.batchSize fit rows, the loss the trainer uses) and inference (forward and
 * sigmoid without gradients) at each --infer-batch on validation and test rows — every
 * architecture runs one window per round, in turn (bench/timing.ts interleavedRounds), so a change
 * of the machine's load reaches all of them alike; a ratio to the baseline is taken within a
 * round, and its median and range over rounds are printed, at 1 thread also the ratio of rows per
 * process-CPU second, which waiting for a busy core does not disturb. FLOPs per example are the
 * search's cost model (src/models/flops.ts), to set beside the measured ratios.
 */
import { loadavg } from 'node:os';
import { parse } from 'yaml';
import { backend } from '../src/backend/index.js';
import { sigmoid } from '../src/autograd/ops/elementwise.js';
import { endStep, noGrad } from '../src/autograd/tape.js';
import type { Batch } from '../src/data/batch.js';
import { RowGatherer } from '../src/data/batching.js';
import { parseExperimentConfig, type ExperimentConfig } from '../src/experiment/config.js';
import { cellConfig, loadGridConfig } from '../src/experiment/grid.js';
import { weightedBce } from '../src/losses/weightedBce.js';
import { dcnv2Flops } from '../src/models/flops.js';
import { createModel, parseModelConfig, type ModelConfig, type ModelDims } from '../src/models/registry.js';
import { createOptimizer } from '../src/optim/registry.js';
import { buildDataset } from '../src/schema/index.js';
import { loadConfigFile } from '../src/schema/config.js';
import { trainStep } from '../src/train/step.js';
import { Rng } from '../src/util/random.js';
import { Reporter, cpuModel, flagValue, hasFlag, timingBackend } from './report.js';
import { interleavedRounds, spread, type Contender } from './timing.js';

export interface ArchArgs {
  base: string;
  models: string[];
  threads: number[];
  rounds: number;
  windowSec: number;
  inferBatches: number[];
  /** Training batches (and inference batches per size) cycled through. */
  pool: number;
  markdown: boolean;
  json: boolean;
}

const VALUE_FLAGS = ['--threads', '--rounds', '--window-sec', '--infer-batch', '--pool'];
const BOOL_FLAGS = ['--markdown', '--json'];
const USAGE = 'npm run bench -- arch BASE [MODEL…] [--threads 1,2] [--rounds 9] [--window-sec 0.2] [--infer-batch 4096,100] [--pool 16] [--markdown] [--json]';

export function parseArchArgs(argv: readonly string[]): ArchArgs {
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (VALUE_FLAGS.includes(a)) i++;
    else if (a.startsWith('--') && !BOOL_FLAGS.includes(a) && !VALUE_FLAGS.some((f) => a.startsWith(`${f}=`))) throw new Error(`bench arch: unknown option ${a} (${USAGE})`);
    else if (!a.startsWith('--')) positional.push(a);
  }
  const [base, ...models] = positional;
  if (base === undefined) throw new Error(`bench arch: give the base config (${USAGE})`);
  const ints = (flag: string, dflt: string): number[] => {
    const v = flagValue(argv, flag) ?? dflt;
    const out = v.split(',').map(Number);
    if (out.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bench arch: ${flag} takes positive integers separated by commas, got '${v}'`);
    return out;
  };
  const windowSec = Number(flagValue(argv, '--window-sec') ?? 0.2);
  if (!(windowSec > 0)) throw new Error(`bench arch: --window-sec takes a positive number of seconds, got '${flagValue(argv, '--window-sec')}'`);
  const one = (flag: string, dflt: string): number => {
    const v = ints(flag, dflt);
    if (v.length !== 1) throw new Error(`bench arch: ${flag} takes one positive integer, got '${v.join(',')}'`);
    return v[0]!;
  };
  return {
    base, models, threads: ints('--threads', '1,2'), rounds: one('--rounds', '9'), windowSec, inferBatches: ints('--infer-batch', '4096,100'),
    pool: one('--pool', '16'), markdown: hasFlag(argv, '--markdown'), json: hasFlag(argv, '--json'),
  };
}

export interface Architecture {
  model: ModelConfig;
  /** Where it came from: 'baseline', files, or 'inline'. */
  sources: string[];
}

/** The base config: an experiment config, or an experiment grid's base with its `set` overrides. */
export async function loadBase(file: string): Promise<ExperimentConfig> {
  const raw = await loadConfigFile(file);
  const isGrid = typeof raw === 'object' && raw !== null && 'base' in raw && 'grid' in raw;
  return isGrid ? cellConfig(await loadGridConfig(file), { name: 'base', overrides: [] }) : parseExperimentConfig(raw, file);
}

/** The baseline and the distinct architectures of `specs` (files or inline YAML), each with the sources that named it. */
export async function loadArchitectures(baseline: ModelConfig, specs: readonly string[]): Promise<Architecture[]> {
  const archs: Architecture[] = [{ model: baseline, sources: ['baseline'] }];
  const byKey = new Map<string, Architecture>([[JSON.stringify(baseline), archs[0]!]]);
  for (const spec of specs) {
    const inline = spec.trimStart().startsWith('{');
    const raw: unknown = inline ? parse(spec) : await loadConfigFile(spec);
    const section = typeof raw === 'object' && raw !== null && 'model' in raw ? (raw as { model: unknown }).model : raw;
    const model = parseModelConfig(section, `${inline ? 'inline model' : spec}: model`);
    const key = JSON.stringify(model);
    const source = inline ? 'inline' : spec;
    const seen = byKey.get(key);
    if (seen) seen.sources.push(source);
    else {
      const a = { model, sources: [source] };
      archs.push(a);
      byKey.set(key, a);
    }
  }
  return archs;
}

/** A grid run's file (`<cell>/seed<k>/chosen.yaml`) as its cell and seed. */
function gridRun(source: string): { cell: string; seed: number } | null {
  const m = /(?:^|\/)([^/]+)\/seed(\d+)\/[^/]+\.(?:ya?ml|json)$/.exec(source);
  return m ? { cell: m[1]!, seed: Number(m[2]) } : null;
}

/** The sources in words: grid run files as `cell seeds 1,3`, others as given. */
export function describeSources(sources: readonly string[]): string {
  const cells = new Map<string, number[]>();
  const other: string[] = [];
  for (const s of sources) {
    const run = gridRun(s);
    if (run) cells.set(run.cell, [...(cells.get(run.cell) ?? []), run.seed]);
    else other.push(s);
  }
  return [...other, ...[...cells].map(([c, seeds]) => `${c} seed${seeds.length > 1 ? 's' : ''} ${seeds.sort((a, b) => a - b).join(',')}`)].join('; ');
}

export function describeModel(m: ModelConfig): string {
  if (m.type !== 'dcnv2') return m.type;
  return `dcnv2 dim ${m.dim}, ${m.hidden.join('-')}${m.crossRank !== undefined ? `, cross rank ${m.crossRank}` : ''}`;
}

export interface PhaseResult {
  threads: number;
  /** 'train' or 'infer'. */
  phase: 'train' | 'infer';
  batch: number;
  /** Per architecture, [arch][round]: rows per wall second and per process-CPU second. */
  rates: { wall: number; cpu: number }[][];
}

export interface Measured {
  archs: (Architecture & { flops: number | null; denseWeights: number })[];
  phases: PhaseResult[];
  dataset: { rows: number; fields: number; denseDim: number; ids: number; batchSize: number };
}

function rowsOf(from: number, to: number, start: number, n: number): Int32Array {
  const len = to - from;
  return Int32Array.from({ length: n }, (_, i) => from + ((start + i) % len));
}

/** Builds every architecture on the base config's data and times its phases, interleaved (see the file's comment). */
export async function measureArchitectures(cfg: ExperimentConfig, archs: readonly Architecture[], a: Omit<ArchArgs, 'base' | 'models' | 'markdown' | 'json'>,
  note: (msg: string) => void = () => undefined): Promise<Measured> {
  const { dataset: ds, split, fitted } = await buildDataset(cfg.data, cfg.baseDir);
  const dims: ModelDims = { numIds: ds.numIds, numFields: ds.numFields, denseDim: ds.denseNames?.length ?? 0, numSequences: ds.sequences?.length ?? 0, features: fitted.features() };
  const seed = cfg.train.seed;
  const bs = cfg.train.batchSize;
  const fitN = split.fit.end - split.fit.start;
  if (fitN === 0) throw new Error(`bench arch: ${cfg.file}: the fit split is empty`);
  // Each gather on a fresh gatherer, so that every batch keeps its own buffers.
  const rng = new Rng(seed);
  const trainPool: Batch[] = Array.from({ length: a.pool }, () => {
    const rows = Int32Array.from({ length: Math.min(bs, fitN) }, () => split.fit.start + rng.int(fitN));
    return new RowGatherer(ds).gather(rows, 0, rows.length);
  });
  // Scored rows: validation and test (what serving sees: rows the model never trained on), else fit.
  const [from, to] = split.validation.start < ds.numRows ? [split.validation.start, ds.numRows] : [split.fit.start, split.fit.end];
  const inferPools = new Map(a.inferBatches.map((n) => [n, Array.from({ length: Math.min(a.pool, 4) }, (_, k) => new RowGatherer(ds).gather(rowsOf(from, to, k * n, n), 0, n))]));
  note(`${cfg.file}: ${ds.numRows} rows, ${ds.numFields} fields, ${ds.numIds} ids; training batches of ${bs} fit rows, inference on ${to - from} rows`);

  const built = archs.map((arch) => {
    const trained = createModel(arch.model, dims, seed);
    const optimizer = createOptimizer(cfg.train.optimizer, trained);
    const scored = createModel(arch.model, dims, seed);
    scored.eval();
    const flops = arch.model.type === 'dcnv2' ? dcnv2Flops({ ...arch.model, numFields: dims.numFields!, numSequences: dims.numSequences, denseDim: dims.denseDim }) : null;
    return { ...arch, trained, optimizer, scored, flops, denseWeights: trained.parameters().reduce((s, p) => s + p.size, 0) };
  });
  const k = backend();
  const phases: PhaseResult[] = [];
  for (const threads of a.threads) {
    k.setThreads(threads);
    const train: Contender[] = built.map((b) => ({
      itemsPerStep: trainPool[0]!.size,
      step: (i) => {
        const batch = trainPool[i % trainPool.length]!;
        trainStep(b.optimizer, () => weightedBce(b.trained.forward(batch), batch));
      },
    }));
    phases.push({ threads, phase: 'train', batch: trainPool[0]!.size, rates: interleavedRounds(train, a.rounds, a.windowSec) });
    for (const [n, pool] of inferPools) {
      const infer: Contender[] = built.map((b) => ({
        itemsPerStep: n,
        step: (i) => {
          noGrad(() => sigmoid(b.scored.forward(pool[i % pool.length]!)));
          endStep();
        },
      }));
      phases.push({ threads, phase: 'infer', batch: n, rates: interleavedRounds(infer, a.rounds, a.windowSec) });
    }
  }
  return {
    archs: built.map(({ model, sources, flops, denseWeights }) => ({ model, sources, flops, denseWeights })),
    phases, dataset: { rows: ds.numRows, fields: ds.numFields, denseDim: dims.denseDim!, ids: ds.numIds, batchSize: bs },
  };
}

/** One architecture's figures in one phase: rows/s and the per-round ratio to the baseline (architecture 0). */
export function phaseSummary(p: PhaseResult, arch: number): { rows: ReturnType<typeof spread>; ratio: ReturnType<typeof spread>; cpuRatio: ReturnType<typeof spread> } {
  const own = p.rates[arch]!;
  const ref = p.rates[0]!;
  return {
    rows: spread(own.map((r) => r.wall)),
    ratio: spread(own.map((r, i) => r.wall / ref[i]!.wall)),
    cpuRatio: spread(own.map((r, i) => r.cpu / ref[i]!.cpu)),
  };
}

const r2 = (v: number): string => v.toFixed(2);
const thousands = (v: number): string => Math.round(v).toLocaleString('en-US');

/**
 * A Markdown table: one row per architecture, one column per (phase, threads), `rows/s (ratio [range])`
 * with, at 1 thread, the median ratio of rows per process-CPU second.
 */
export function markdownTable(m: Measured): string {
  const head = ['architecture', 'picked by', 'FLOPs/example (× baseline)', ...m.phases.map((p) => `${p.phase} b${p.batch}, ${p.threads} thr: rows/s (× baseline [range])`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  m.archs.forEach((a, i) => {
    const flops = a.flops === null ? '–' : `${thousands(a.flops)} (${r2(a.flops / m.archs[0]!.flops!)})`;
    const cells = m.phases.map((p) => {
      const s = phaseSummary(p, i);
      if (i === 0) return thousands(s.rows.median);
      const cpu = p.threads === 1 ? `; CPU ${r2(s.cpuRatio.median)}` : '';
      return `${thousands(s.rows.median)} (${r2(s.ratio.median)} [${r2(s.ratio.min)}–${r2(s.ratio.max)}]${cpu})`;
    });
    lines.push(`| ${describeModel(a.model)} | ${describeSources(a.sources)} | ${flops} | ${cells.join(' | ')} |`);
  });
  return lines.join('\n');
}

/**
 * A Markdown table per grid cell, over its seeds' architectures (each seed's pick counts once):
 * FLOPs × baseline, and per phase the mean of the architectures' median ratios [their min–max] —
 * at 1 thread of rows per process-CPU second, at more threads of rows per wall second. Empty
 * when no source is a grid run.
 */
export function cellTable(m: Measured): string {
  const cells = new Map<string, number[]>();
  m.archs.forEach((a, i) => {
    for (const s of a.sources) {
      const run = gridRun(s);
      if (run) cells.set(run.cell, [...(cells.get(run.cell) ?? []), i]);
    }
  });
  if (cells.size === 0) return '';
  const mean = (v: number[]): number => v.reduce((x, y) => x + y, 0) / v.length;
  const agg = (v: number[]): string => `${r2(mean(v))} [${r2(Math.min(...v))}–${r2(Math.max(...v))}]`;
  const base = m.archs[0]!.flops;
  const head = ['cell', 'runs', 'FLOPs × baseline', ...m.phases.map((p) => `${p.phase} b${p.batch}, ${p.threads} thr (${p.threads === 1 ? 'CPU' : 'wall'})`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [cell, idx] of [...cells].sort(([a], [b]) => a.localeCompare(b))) {
    const flops = base === null || idx.some((i) => m.archs[i]!.flops === null) ? '–' : agg(idx.map((i) => m.archs[i]!.flops! / base));
    const cols = m.phases.map((p) => agg(idx.map((i) => {
      const s = phaseSummary(p, i);
      return p.threads === 1 ? s.cpuRatio.median : s.ratio.median;
    })));
    lines.push(`| ${cell} | ${idx.length} | ${flops} | ${cols.join(' | ')} |`);
  }
  return lines.join('\n');
}

export async function archBench(argv: string[]): Promise<void> {
  const a = parseArchArgs(argv);
  const rep = new Reporter(a.json);
  timingBackend(rep, a.threads[0]!);
  const cpu = cpuModel();
  const load0 = loadavg().map((l) => l.toFixed(2)).join(' ');
  const cfg = await loadBase(a.base);
  const archs = await loadArchitectures(cfg.model, a.models);
  rep.note(`${archs.length} distinct architectures (the baseline first); ${a.rounds} rounds of ${a.windowSec} s windows per phase, threads ${a.threads.join(',')}`);
  const t0 = performance.now();
  const m = await measureArchitectures(cfg, archs, a, (msg) => rep.note(msg));
  const load1 = loadavg().map((l) => l.toFixed(2)).join(' ');
  m.archs.forEach((arch, i) => {
    const common = { bench: 'arch', architecture: describeModel(arch.model), picked_by: describeSources(arch.sources), count: arch.sources.length,
      flops: arch.flops, flops_ratio: arch.flops === null ? null : Number(r2(arch.flops / m.archs[0]!.flops!)), dense_weights: arch.denseWeights };
    rep.row({ ...common, model: JSON.stringify(arch.model) });
    for (const p of m.phases) {
      const s = phaseSummary(p, i);
      rep.row({ bench: 'arch_rate', architecture: common.architecture, phase: p.phase, batch: p.batch, threads: p.threads, rows_per_s: Math.round(s.rows.median),
        min: Math.round(s.rows.min), max: Math.round(s.rows.max), ratio: Number(r2(s.ratio.median)), ratio_min: Number(r2(s.ratio.min)), ratio_max: Number(r2(s.ratio.max)),
        ...(p.threads === 1 && { cpu_ratio: Number(r2(s.cpuRatio.median)) }), flops_ratio: common.flops_ratio });
    }
  });
  rep.row({ bench: 'arch_context', cpu, load_before: load0, load_after: load1, seconds: Math.round((performance.now() - t0) / 1000), rounds: a.rounds, window_sec: a.windowSec,
    data_rows: m.dataset.rows, ids: m.dataset.ids, train_batch: m.dataset.batchSize });
  const byCell = cellTable(m);
  if (a.markdown) process.stdout.write(`\n${markdownTable(m)}\n${byCell && `\n${byCell}\n`}\nCPU ${cpu}; 1-minute load average ${load0.split(' ')[0]} before, ${load1.split(' ')[0]} after; ${a.rounds} rounds.\n`);
}

