/**
 * `npm run bench -- serve [--seconds 5] [--connections 16] [--malformed 10000] [--precision int8,bf16] [--format rows,columns] [--model dnn] [--batch-wait-ms N] [--idle-wait-ms N] [--loop-rows N] [--thread-in-flight N] [--rounds N] [--score-thread on|off] [--threads N] [--ort-threads N] [--json]`
 *
 * Load test of `ctrkit serve` over loopback (127.0.0.1 only) with autocannon, bounded in time
 * (--seconds per run) and count (--malformed requests). DNN and DCN-v2 (dim 16, [400, 400, 400],
 * 3 cross layers) trained for one epoch on the Criteo sample of examples/criteo.yaml; requests are
 * its last rows as raw values. Each model is served by ctrkit and, behind the same HTTP layer and
 * batcher (ServeOptions.scorer), by onnxruntime-node on its ONNX export; both with one compute
 * thread, the server in its own process; with --precision int8 also ctrkit's int8 scoring and
 * onnxruntime on the int8 export (`ctrkit export --precision int8`: MatMulInteger); with --precision bf16
 * ctrkit's bf16 scoring, compared with onnxruntime fp32 (its CPU provider has no bf16 MatMul). Per scorer and
 * request size (1 row, 100 candidates):
 * sequential requests (1 connection: latency) and --connections concurrent ones (throughput), with
 * the rows written as --format says (rows and/or columns bodies, docs/serving.md).
 * Then --malformed bad requests mixed with as many good ones (5xx must be 0; the server must still
 * answer), and a model republished during load (failed requests must be 0; the p99 in the second
 * after the publish). CPU model and load average are printed with the figures, and per figure the
 * server process's CPU time per request (all its threads), the figure a shared machine disturbs least,
 * with the load generator's CPU per request and the share of the machine left idle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon, { type Request, type Result } from 'autocannon';
import { loadExperimentConfig } from '../src/experiment/config.js';
import { runTraining } from '../src/experiment/trainRun.js';
import { loadScoringModel } from '../src/experiment/scoring.js';
import { publishDirAtomic } from '../src/io/atomic.js';
import { MANIFEST_FILE, WEIGHTS_FILE } from '../src/io/modelFile.js';
import { writeOnnxExport } from '../src/io/onnx/index.js';
import { isPrecision, PRECISIONS, type Precision } from '../src/nn/quantize.js';
import { backend } from '../src/backend/index.js';
import { concatColumns } from '../src/schema/index.js';
import { createServer, predictAnswer } from '../src/serve/server.js';
import { readPredictText } from '../src/serve/request.js';
import { loadSnapshot, type ModelSnapshot } from '../src/serve/snapshot.js';
import { Reporter, cpuModel, flagValue, hasFlag } from './report.js';
import { packageRoot, sharedDir } from './paths.js';
import { CRITEO, criteoRows } from './criteoRows.js';

const MODELS = {
  dnn: '{ type: dnn, dim: 16, hidden: [400, 400, 400] }',
  dcnv2: '{ type: dcnv2, dim: 16, hidden: [400, 400, 400], crossLayers: 3 }',
} as const;
const JSON_HEADERS = { 'content-type': 'application/json' };

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

/**
 * Trains `name` on the Criteo sample; with `buckets`, each categorical field is hashed into that many rows (a larger model).
 * A model already under `work` (--models DIR kept from an earlier run) is reused, so before / after runs score the same model.
 */
async function train(work: string, name: keyof typeof MODELS, buckets?: number): Promise<string> {
  const kept = join(work, `${name}${buckets ?? ''}`, 'model');
  if (existsSync(join(kept, MANIFEST_FILE))) return kept;
  const root = packageRoot();
  const yaml = readFileSync(join(root, 'examples', 'criteo.yaml'), 'utf8');
  const text = (buckets === undefined ? yaml : yaml.replace(/kind: categorical \}/g, `kind: categorical, hashBuckets: ${buckets} }`))
    .replace(/path: \.\.\/shared\/data\/\S+ \}/, `path: ${join(sharedDir(), 'data', CRITEO)} }`)
    .replace(/^model:.*$/m, `model: ${MODELS[name]}`)
    .replace(/^train:.*$/m, 'train: { epochs: 1, batchSize: 256, seed: 1, optimizer: { type: adam, lr: 0.001 }, validationMetric: auc }')
    .replace(/^output:.*$/m, `output: ${join(work, `${name}${buckets ?? ''}`)}`);
  const cfg = join(work, `${name}${buckets ?? ''}.yaml`);
  writeFileSync(cfg, text);
  return (await runTraining(await loadExperimentConfig(cfg, root), { quiet: true })).modelDir;
}

/** How a request's rows are written: {"rows": [{field: value}, …]} or {"columns": {field: [value, …]}} (docs/serving.md). */
type BodyFormat = 'rows' | 'columns';

function predictRequests(rows: readonly Record<string, string | null>[], size: number, count: number, format: BodyFormat = 'rows'): Request[] {
  return Array.from({ length: count }, (_, k) => {
    const part = Array.from({ length: size }, (_, i) => rows[(k * size + i) % rows.length]!);
    const body = format === 'rows' ? { rows: part } : { columns: Object.fromEntries(Object.keys(part[0]!).map((f) => [f, part.map((r) => r[f])])) };
    return { method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: JSON.stringify(body) };
  });
}

/** Bad requests of every class the server rejects with a 4xx. */
function malformedRequests(row: Record<string, string | null>): Request[] {
  const column = Object.fromEntries(Object.entries(row).map(([f, v]) => [f, [v]]));
  const post = (body: string): Request => ({ method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body });
  return [
    post('{"rows": [ {'), post(''), post('[]'), post('{"rows": {}}'), post('{"rows": [1]}'), post('{"rowz": []}'),
    post(JSON.stringify({ rows: [{ ...row, nope: 1 }] })), post(JSON.stringify({ rows: [{ ...row, I1: 'old' }] })),
    post(JSON.stringify({ rows: [{ ...row, C1: {} }] })), post('{"rows": [{"I1": 1e999}]}'), post(JSON.stringify({ rows: [{ C1: 'x' }] })),
    post(JSON.stringify({ rows: [{ ...row, I2: 'NaN' }] })), { method: 'GET', path: '/v1/nothing' },
    // Columnar bodies: a column that is not an array, columns of different lengths, a bad value, rows and columns both.
    post(JSON.stringify({ columns: { ...column, C1: 'x' } })), post(JSON.stringify({ columns: { ...column, I1: [null, null] } })),
    post(JSON.stringify({ columns: { ...column, I3: ['old'] } })), post(JSON.stringify({ rows: [row], columns: column })),
  ];
}

/** Flags every server process of this run gets (--batch-wait-ms N: the batcher's wait instead of its default). */
const serverFlags: string[] = [];

class ServerProcess {
  private constructor(readonly child: ChildProcess, readonly url: string) {}

  static async start(modelDir: string, onnx?: string, precision: Precision = 'fp32', flags: readonly string[] = []): Promise<ServerProcess> {
    const script = join(packageRoot(), 'dist', 'bench', 'serveServer.js');
    const child = spawn(process.execPath, [script, '--model', modelDir, ...(onnx ? ['--onnx', onnx] : []), '--precision', precision, ...serverFlags, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
      createInterface({ input: child.stdout! }).once('line', resolve);
    });
    return new ServerProcess(child, url);
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

async function cannon(url: string, requests: Request[], connections: number, seconds: number, amount?: number): Promise<Result> {
  return autocannon({ url, requests, connections, duration: seconds, timeout: 10, ...(amount !== undefined && { amount }) });
}

/** The server's largest event-loop delay (ms) since the previous call (prom-client resets its histogram when scraped). */
async function loopLagMax(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^ctrkit_serve_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  return m ? Math.round(Number(m[1]) * 1000) : NaN;
}

/**
 * CPU seconds the server process has used, all its threads (prom-client's process counter): CPU
 * per request is the server's cost, which other jobs on a shared machine disturb far less than
 * requests/s (they take wall-clock time from it, not CPU time per request).
 */
async function serverCpuSeconds(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^ctrkit_serve_process_cpu_seconds_total (\S+)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** CPU ms of each thread of process `pid` so far, by thread id (Linux /proc; empty elsewhere). */
function threadCpuMs(pid: number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (pid === undefined) return out;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // utime and stime: fields 14 and 15, counted after the parenthesised command name (which may hold spaces).
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(Number(tid), (Number(f[11]) + Number(f[12])) * 1000 / CLOCK_TICKS);
      } catch {
        // The thread ended meanwhile.
      }
    }
  } catch {
    // No /proc: not Linux.
  }
  return out;
}

/** All CPUs' busy and total time (ms) from /proc/stat's text: its first line, cpu user nice system idle iowait irq softirq steal …; idle and iowait are not busy. */
export function machineCpuMs(procStat: string): { busy: number; total: number } {
  const f = procStat.split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) throw new Error(`/proc/stat: unexpected first line '${procStat.split('\n', 1)[0]}'`);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (total - f[3]! - f[4]!) * 1000 / CLOCK_TICKS, total: total * 1000 / CLOCK_TICKS };
}

/** Share of all CPUs left idle between two machineCpuMs readings, in percent. */
export function idlePercent(m0: { busy: number; total: number }, m1: { busy: number; total: number }): number {
  return Math.round(100 * (1 - (m1.busy - m0.busy) / (m1.total - m0.total)));
}

/** machineCpuMs of this machine now; undefined without /proc (not Linux). */
function machineNow(): { busy: number; total: number } | undefined {
  try {
    return machineCpuMs(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * One figure: `conns` connections sending `requests` for `seconds`, with where the CPU went per
 * request: the server process (all threads, then its event loop and busiest other thread), the
 * load generator (autocannon runs in this process), and the share of all CPUs left idle. With the
 * last two small, nothing but the server's own busiest thread can bound its requests/s.
 */
async function measure(server: ServerProcess, requests: Request[], conns: number, seconds: number): Promise<{ r: Result; cpu: Record<string, number> }> {
  const cpu0 = await serverCpuSeconds(server.url);
  const threads0 = threadCpuMs(server.child.pid);
  const client0 = process.cpuUsage(), machine0 = machineNow();
  const r = await cannon(server.url, requests, conns, seconds);
  const client = process.cpuUsage(client0), machine1 = machineNow();
  const n = r.requests.total;
  const perRequest = (ms: number): number => Number((ms / Math.max(1, n)).toFixed(3));
  const cpu: Record<string, number> = {
    server_cpu_ms_per_request: perRequest(((await serverCpuSeconds(server.url)) - cpu0) * 1000),
    ...threadSplit(server.child.pid, threads0, threadCpuMs(server.child.pid), n),
    client_cpu_ms_per_request: perRequest((client.user + client.system) / 1000),
  };
  if (machine0 !== undefined && machine1 !== undefined && machine1.total > machine0.total) cpu.machine_idle_pct = idlePercent(machine0, machine1);
  return { r, cpu };
}

/** Linux's USER_HZ, the unit of /proc's CPU times (100 on every architecture Node runs on). */
const CLOCK_TICKS = 100;

/**
 * Where the server's CPU went per request: its event loop (the main thread) and its busiest other
 * thread (the scoring thread for ctrkit; onnxruntime scores on the event loop) — which one bounds
 * the requests/s under load.
 */
function threadSplit(pid: number | undefined, before: Map<number, number>, after: Map<number, number>, requests: number): Record<string, number> {
  if (pid === undefined || after.size === 0 || requests === 0) return {};
  const used = (tid: number): number => (after.get(tid) ?? 0) - (before.get(tid) ?? 0);
  const others = [...after.keys()].filter((t) => t !== pid).map(used);
  return {
    loop_cpu_ms_per_request: Number((used(pid) / requests).toFixed(3)),
    busiest_thread_cpu_ms_per_request: Number((Math.max(0, ...others) / requests).toFixed(3)),
  };
}

/** Requests the server answered, by status class ('2', '4', '5'), from its Prometheus counters. */
async function statusCounts(url: string): Promise<Record<'2' | '4' | '5', number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = { 2: 0, 4: 0, 5: 0 };
  for (const m of text.matchAll(/^ctrkit_serve_requests_total\{[^}]*status="(\d)\d\d"[^}]*\} (\d+)$/gm)) {
    const k = m[1] as '2' | '4' | '5';
    if (k in out) out[k] += Number(m[2]);
  }
  return out;
}

export async function serveBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const seconds = Number(flagValue(argv, '--seconds') ?? 5);
  const connections = Number(flagValue(argv, '--connections') ?? 16);
  const malformed = Number(flagValue(argv, '--malformed') ?? 10_000);
  // --only reload: just the hot-reload part; --reload-buckets N: its two models hash each categorical field into N rows.
  const only = flagValue(argv, '--only');
  const reloadBuckets = flagValue(argv, '--reload-buckets') === undefined ? undefined : Number(flagValue(argv, '--reload-buckets'));
  if (only !== undefined && !['reload', 'profile', 'throughput'].includes(only)) throw new Error(`--only: expected reload, throughput or profile, got '${only}'`);
  // --threads N: the servers' native compute threads (1 by default), --ort-threads N: onnxruntime's (--threads by default).
  for (const [flag, min] of [['--batch-wait-ms', 0], ['--idle-wait-ms', 0], ['--loop-rows', 0], ['--thread-in-flight', 1], ['--threads', 1], ['--ort-threads', 1]] as const) {
    const v = flagValue(argv, flag);
    if (v === undefined) continue;
    if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${flag}: expected an integer >= ${min}, got '${v}'`);
    serverFlags.push(flag, v);
  }
  // --score-thread: for servers the scorers below do not set.
  const scoreThread = flagValue(argv, '--score-thread');
  if (scoreThread !== undefined) serverFlags.push('--score-thread', scoreThread);
  // --models DIR: train into DIR (kept) or reuse the models trained there before.
  const keep = flagValue(argv, '--models');
  try {
    readFileSync(join(sharedDir(), 'data', CRITEO));
  } catch {
    rep.note(`skipped: ${join(sharedDir(), 'data', CRITEO)} (the Criteo sample) is not there`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'ctrkit-bench-serve-'));
  const models = keep ?? work;
  mkdirSync(models, { recursive: true });
  try {
    rep.note(`cpu: ${cpuModel()} × ${cpus().length}, node ${process.version}; load average ${load()} (1, 5, 15 min)`);
    const rows = criteoRows(1000);
    // --format rows,columns: each figure for both request body formats, one after the other on the same server (rows by default).
    const formats = (flagValue(argv, '--format') ?? 'rows').split(',') as BodyFormat[];
    if (formats.length === 0 || formats.some((f) => f !== 'rows' && f !== 'columns')) throw new Error(`--format: expected rows and/or columns, got ${flagValue(argv, '--format')}`);
    const requests = Object.fromEntries(formats.map((f) => [f, { 1: predictRequests(rows, 1, 200, f), 100: predictRequests(rows, 100, 10, f) }])) as Requests;
    const dirs = only === 'reload' && reloadBuckets !== undefined ? undefined : { dnn: await train(models, 'dnn'), dcnv2: await train(models, 'dcnv2') };
    if (only === 'profile') {
      await profileStages(rep, dirs!, rows, Number(flagValue(argv, '--requests') ?? 300), formats);
      return;
    }
    // --sizes 100: only the 100-candidate requests (1,100 by default); --malformed 0 skips that part.
    const sizes = (flagValue(argv, '--sizes') ?? '1,100').split(',').map((x) => Number(x) as 1 | 100);
    if (sizes.some((x) => x !== 1 && x !== 100)) throw new Error(`--sizes: expected 1 and/or 100, got ${flagValue(argv, '--sizes')}`);
    // --precision int8: also ctrkit's opt-in int8 scoring and onnxruntime on the int8 export (equal precision);
    // bf16: also ctrkit's bf16 scoring. --scorers a,b,…: these, in this order (ctrkit, ctrkit-int8,
    // ctrkit-bf16: on the scoring thread; ctrkit-loop, ctrkit-int8-loop: on the event loop).
    const precisions = (flagValue(argv, '--precision') ?? 'fp32').split(',');
    if (!precisions.every(isPrecision)) throw new Error(`--precision: expected some of ${PRECISIONS.join(', ')}, got ${flagValue(argv, '--precision')}`);
    const scorers: readonly Scorer[] = (flagValue(argv, '--scorers')?.split(',') as Scorer[] | undefined) ?? [
      'ctrkit', ...(precisions.includes('int8') ? ['ctrkit-int8'] as const : []), ...(precisions.includes('bf16') ? ['ctrkit-bf16'] as const : []),
      'onnxruntime', ...(precisions.includes('int8') ? ['onnxruntime-int8'] as const : []),
    ];
    if (scorers.some((x) => !SCORERS.includes(x))) throw new Error(`--scorers: expected some of ${SCORERS.join(', ')}, got ${flagValue(argv, '--scorers')}`);
    // --model dnn: the throughput figures of one model only.
    const names = (flagValue(argv, '--model') ?? 'dnn,dcnv2').split(',') as (keyof typeof MODELS)[];
    if (names.some((n) => !(n in MODELS))) throw new Error(`--model: expected dnn and/or dcnv2, got ${flagValue(argv, '--model')}`);
    // --rounds N: each figure N times, the scorers interleaved, with medians and paired ratios (1 by default).
    const rounds = Number(flagValue(argv, '--rounds') ?? 1);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: expected an integer >= 1, got ${flagValue(argv, '--rounds')}`);
    if (only !== 'reload') await throughput(rep, work, dirs!, requests, rows, seconds, connections, malformed, sizes, scorers, names, rounds);
    const reloadDirs = dirs !== undefined && reloadBuckets === undefined ? dirs : { dnn: await train(models, 'dnn', reloadBuckets), dcnv2: await train(models, 'dcnv2', reloadBuckets) };
    if (only !== 'throughput') await reloadUnderLoad(rep, work, reloadDirs, requests[formats[0]!]![1], seconds, connections);
    rep.note(`load average at the end: ${load()}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

type Dirs = Record<keyof typeof MODELS, string>;
const SCORERS = ['ctrkit', 'ctrkit-int8', 'ctrkit-bf16', 'ctrkit-loop', 'ctrkit-int8-loop', 'onnxruntime', 'onnxruntime-int8'] as const;
type Scorer = (typeof SCORERS)[number];
type Requests = Partial<Record<BodyFormat, Record<1 | 100, Request[]>>>;

/** The onnxruntime scorer a ctrkit scorer is compared with: the same precision, fp32 for bf16 (onnxruntime's CPU provider has none). */
const COUNTERPART: Partial<Record<Scorer, Scorer>> = {
  'ctrkit': 'onnxruntime', 'ctrkit-loop': 'onnxruntime', 'ctrkit-int8': 'onnxruntime-int8', 'ctrkit-int8-loop': 'onnxruntime-int8',
  'ctrkit-bf16': 'onnxruntime',
};

/** The dense-layer precision a ctrkit scorer's server scores at. */
function scorerPrecision(scorer: Scorer): Precision {
  return scorer.startsWith('ctrkit-int8') ? 'int8' : scorer.startsWith('ctrkit-bf16') ? 'bf16' : 'fp32';
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Per scorer, the median and range of its requests/s over the rounds; for a ctrkit scorer whose
 * onnxruntime counterpart ran too, the ratio within each round (both measured back to back), its
 * median and range, and in how many rounds it reached the serving target of 1.5.
 */
export function roundSummaries(rps: ReadonlyMap<Scorer, readonly number[]>): Record<string, string | number>[] {
  return [...rps].map(([scorer, v]) => {
    const row: Record<string, string | number> = {
      scorer, rounds: v.length, requests_per_s_median: Math.round(median(v)),
      requests_per_s_range: `${Math.round(Math.min(...v))}–${Math.round(Math.max(...v))}`,
    };
    const other = COUNTERPART[scorer] === undefined ? undefined : rps.get(COUNTERPART[scorer]!);
    if (other !== undefined && other.length === v.length) {
      const ratios = v.map((x, i) => x / other[i]!);
      row.vs = COUNTERPART[scorer]!;
      row.ratio_median = Number(median(ratios).toFixed(2));
      row.ratio_range = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
      row.rounds_at_least_1_5 = ratios.filter((x) => x >= 1.5).length;
    }
    return row;
  });
}

/** Requests/s and latency of ctrkit and onnxruntime-node behind the same server; then malformed requests mixed in. */
async function throughput(rep: Reporter, work: string, dirs: Dirs, requests: Requests, rows: Record<string, string | null>[],
  seconds: number, connections: number, malformed: number, sizes: readonly (1 | 100)[], scorers: readonly Scorer[],
  names: readonly (keyof typeof MODELS)[], rounds: number): Promise<void> {
  {
    // The ONNX graph each onnxruntime scorer serves: fp32, and int8 (`ctrkit export --precision int8`).
    const onnx: Record<string, Partial<Record<Scorer, string>>> = {};
    for (const [name, dir] of Object.entries(dirs)) {
      const { model, manifest, fitted } = loadScoringModel(dir);
      onnx[name] = { onnxruntime: writeOnnxExport(model, manifest, fitted, join(work, `${name}.onnx`)).onnx };
      if (scorers.includes('onnxruntime-int8')) onnx[name]['onnxruntime-int8'] = writeOnnxExport(model, manifest, fitted, join(work, `${name}-int8.onnx`), 'int8').onnx;
    }

    for (const name of names) {
      // Every scorer's server runs for the whole model (idle between its figures), so that each
      // figure's scorers are measured back to back, round after round: a quiet or busy minute of a
      // shared machine then falls on all of them, and the per-round ratios pair like with like.
      const servers: [Scorer, ServerProcess][] = [];
      try {
        for (const scorer of scorers) {
          servers.push([scorer, await ServerProcess.start(dirs[name], onnx[name]![scorer], scorerPrecision(scorer),
            scorer.startsWith('ctrkit') ? ['--score-thread', scorer.endsWith('-loop') ? 'off' : 'on'] : [])]);
        }
        for (const size of sizes) {
          for (const [format, bodies] of Object.entries(requests)) {
            for (const [, server] of servers) await cannon(server.url, bodies[size], 2, 1); // warm-up
            for (const conns of [1, connections]) {
              const rps = new Map<Scorer, number[]>(scorers.map((x) => [x, []]));
              for (let round = 0; round < rounds; round++) {
                // Rotated every round, so that no scorer always runs first or last.
                for (let k = 0; k < servers.length; k++) {
                  const [scorer, server] = servers[(k + round) % servers.length]!;
                  const before = load();
                  const { r, cpu } = await measure(server, bodies[size], conns, seconds);
                  rps.get(scorer)!.push(r.requests.average);
                  rep.row({
                    bench: 'serve', model: name, scorer, format, rows_per_request: size, connections: conns, round: round + 1,
                    requests_per_s: Math.round(r.requests.average), rows_per_s: Math.round(r.requests.average * size),
                    p50_ms: r.latency.p50, p99_ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts,
                    ...cpu, load: `${before} → ${load()}`,
                  });
                }
              }
              if (rounds > 1) for (const row of roundSummaries(rps)) rep.row({ bench: 'serve-rounds', model: name, format, rows_per_request: size, connections: conns, ...row });
            }
          }
        }
      } finally {
        for (const [, server] of servers) await server.stop();
      }
    }

    // Malformed requests mixed 1:1 with good ones, counted by the server's own metrics (what it answered).
    if (malformed > 0) {
      const server = await ServerProcess.start(dirs.dcnv2);
      try {
        const bad = malformedRequests(rows[0]!);
        const good = predictRequests(rows, 1, bad.length);
        const mixed = bad.flatMap((b, i) => [b, good[i]!]);
        let answered = await statusCounts(server.url);
        let errors = 0;
        let p99 = 0;
        for (let round = 0; answered['4'] < malformed && round < 10; round++) {
          const r = await cannon(server.url, mixed, connections, 600, Math.max(connections, 2 * (malformed - answered['4'])));
          errors += r.errors + r.timeouts;
          p99 = Math.max(p99, r.latency.p99);
          answered = await statusCounts(server.url);
        }
        const health = await fetch(`${server.url}/healthz`);
        const after = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: JSON_HEADERS, body: good[0]!.body! });
        rep.row({
          bench: 'serve-malformed', '2xx': answered['2'], '4xx': answered['4'], '5xx': answered['5'], client_errors: errors,
          healthz_after: health.status, predict_after: after.status, p99_ms: p99, load: load(),
        });
      } finally {
        await server.stop();
      }
    }

  }
}

/** A model republished over the served directory during load: failed requests, p99 overall and in the second after the publish. */
async function reloadUnderLoad(rep: Reporter, work: string, dirs: Dirs, requests: Request[], seconds: number, connections: number): Promise<void> {
    // A republished model during load: DNN is served, DCN-v2 published over it after a third of the run.
    {
      const served = join(work, 'served');
      const copyInto = (from: string) => (to: string): void => {
        for (const f of readdirSync(from)) copyFileSync(join(from, f), join(to, f));
      };
      publishDirAtomic(served, copyInto(dirs.dnn));
      const server = await ServerProcess.start(served);
      try {
        const before = await (await fetch(`${server.url}/v1/model`)).json() as { model: string };
        const times: { at: number; ms: number; ok: boolean }[] = [];
        const start = Date.now();
        const run = autocannon({ url: server.url, requests, connections, duration: seconds * 2, timeout: 10 });
        run.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => times.push({ at: Date.now() - start, ms, ok: status === 200 }));
        await new Promise((r) => setTimeout(r, (seconds * 2000) / 3));
        await loopLagMax(server.url); // starts the server's event-loop delay histogram afresh
        const publishedAt = Date.now() - start;
        publishDirAtomic(served, copyInto(dirs.dcnv2));
        // When the new model answers: the window below runs from the publish to 1 s after it.
        let swappedAt = Infinity;
        while (swappedAt === Infinity && Date.now() - start < 120_000) {
          const now = await (await fetch(`${server.url}/v1/model`)).json() as { model: string };
          if (now.model !== before.model) swappedAt = Date.now() - start;
          else await new Promise((r) => setTimeout(r, 20));
        }
        // The longest the server's event loop was held from the publish until the swap.
        const lagMs = await loopLagMax(server.url);
        const r = await run;
        const after = await (await fetch(`${server.url}/v1/model`)).json() as { model: string; type: string };
        // Responses by completion time: a request stalled by the load completes after it, inside the window.
        const window = times.filter((t) => t.at >= publishedAt && t.at < swappedAt + 1000).map((t) => t.ms).sort((a, b) => a - b);
        rep.row({
          bench: 'serve-reload', weights_mb: Math.round(statSync(join(dirs.dcnv2, WEIGHTS_FILE)).size / 2 ** 20), requests: times.length, failed: times.filter((t) => !t.ok).length + r.errors + r.timeouts,
          swapped: after.model !== before.model && after.type === 'dcnv2', p99_ms: r.latency.p99,
          swap_ms: swappedAt - publishedAt, p99_ms_swap: window[Math.min(window.length - 1, Math.floor(window.length * 0.99))] ?? null,
          max_ms_swap: window[window.length - 1] ?? null, loop_lag_max_ms_swap: lagMs, max_ms: Math.max(...times.map((t) => t.ms)), load: load(),
        });
      } finally {
        await server.stop();
      }
    }
}

/**
 * Where the time of a 100-candidate /v1/predict goes outside the network: each stage of the
 * request path timed in-process (CPU time) over `count` requests (bodies rotating over the sample's rows),
 * and the whole request through fastify (app.inject, batch wait 0), whose excess over the stages
 * is routing, hooks, metrics and the batcher's bookkeeping.
 */
async function profileStages(rep: Reporter, dirs: Dirs, rows: Record<string, string | null>[], count: number, formats: readonly BodyFormat[]): Promise<void> {
  backend().setThreads(1); // as the load test's server process
  for (const [name, format] of (['dnn', 'dcnv2'] as const).flatMap((m) => formats.map((f) => [m, f] as const))) {
    const bodies = predictRequests(rows, 100, 10, format).map((r) => r.body as string);
    const server = createServer({ modelDir: dirs[name], batch: { maxWaitMs: 0 } });
    try {
      // The stages need the weights on this thread; the server's event loop holds none when its scoring thread scores.
      const stages = profiledStages(loadSnapshot(dirs[name]));
      const ms: Record<string, number> = {};
      let inject = 0;
      for (let i = 0; i < count + 20; i++) {
        const body = bodies[i % bodies.length]!;
        const t = stages(body);
        const t0 = cpuMs();
        const r = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: body, headers: JSON_HEADERS });
        if (r.statusCode !== 200) throw new Error(`profile: ${r.statusCode} ${r.body}`);
        const whole = cpuMs() - t0;
        if (i < 20) continue; // warm-up
        for (const [k, v] of Object.entries(t)) ms[k] = (ms[k] ?? 0) + v;
        inject += whole;
      }
      const sum = Object.values(ms).reduce((a, b) => a + b, 0);
      const us = (v: number): number => Math.round((v / count) * 1000);
      rep.row({
        bench: 'serve-profile', model: name, format, rows_per_request: 100, requests: count,
        ...Object.fromEntries(Object.entries(ms).map(([k, v]) => [`${k}_us`, us(v)])),
        stages_us: us(sum), inject_us: us(inject), fastify_batcher_us: us(inject - sum),
        ...Object.fromEntries(Object.entries(ms).map(([k, v]) => [`${k}_share`, `${Math.round((100 * v) / inject)}%`])),
        load: load(),
      });
    } finally {
      await server.close();
    }
  }
}

/** CPU time of this process (ms): on a loaded machine wall-clock stage timings mostly measure the other jobs. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The stages of the /v1/predict route (src/serve/server.ts) one by one: milliseconds each for one body. */
function profiledStages(s: ModelSnapshot): (body: string) => Record<string, number> {
  return (body) => {
    const out: Record<string, number> = {};
    let t = cpuMs();
    const lap = (stage: string): void => {
      const now = cpuMs();
      out[stage] = now - t;
      t = now;
    };
    // As the route reads it: a plain rows body straight from its text, anything else through JSON.parse.
    const rows = readPredictText(body, s.features, s.encoder, 4096);
    lap('read_encode');
    const ds = s.fitted.toDataset(concatColumns([rows]));
    lap('batch');
    const p = s.score(ds, 0, ds.numRows);
    lap('forward');
    predictAnswer(s.version, s.tasks, p);
    lap('serialise');
    return out;
  };
}
