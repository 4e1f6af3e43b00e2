/**
 * `npm run bench -- online --vs-epoch [--model lr,dnn] [--source file,jetstream] [--records-per-message 1,64] [--read ahead,in-thread] [--rounds 3] [--copies 4] [--code DIR] [--json]`
 *
 * What the stream costs (issue 12: ≤ 10 % for the DNN): the same model trained on the same rows one
 * epoch in memory vs online from a file and from a NATS JetStream stream, each read ahead on a
 * worker (readAhead: true) and in-thread (false) — `--read` picks; the default 'auto' is one of the
 * two, which the first line names for this machine. The Criteo head ×`copies` (uncompressed), the fields of
 * examples/online-criteo.yaml hashed into 32768 buckets each, batch 256, AdaGrad lr 0.05, 1 thread,
 * no periodic checkpoints. Epoch: the rows encoded beforehand (not timed) with the stream's own
 * schema (same ids, tables and model), one shuffled epoch of the Trainer. Online: the loop of
 * runOnlineTraining (read, parse, encode, score, train). Each round first reads the file alone
 * (parse and encode into batches, no training: what reading costs a line). Each variant reports wall rows/s and the
 * process's CPU time per row over its loop (every thread: the worker's included), which other
 * processes on a shared machine barely move, and the training thread's alone (thread_cpu: what
 * bounds the loop when the read-ahead worker has a core of its own); the ratios stream ÷ epoch are
 * summarised as median and range over the rounds, which interleave the variants.
 *
 * `--code DIR`: also runs online training from another build's dist folder (e.g. the base commit's,
 * "before"), interleaved in the same rounds. JetStream: a nats-server -js started on 127.0.0.1 on a free port
 * (skipped when nats-server or the @nats-io packages are absent), the lines published once, N
 * newline-separated lines a message for each N of `--records-per-message` (default 1; a producer
 * that batches events, one stream and one variant per N); the 0.5 s of idleSeconds that end a run
 * are taken out of its wall time. A JetStream variant also reports the nats-server's CPU per row over
 * the run (Linux), which competes with training for the same cores, and that plus the process's
 * against the epoch (server_cpu_us_per_row, cpu_with_server_ratio).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { backend } from '../src/backend/index.js';
import { ShuffledBatches } from '../src/data/batching.js';
import { parseExperimentConfig, type ExperimentConfig } from '../src/experiment/config.js';
import type { OnlineRunResult } from '../src/experiment/onlineRun.js';
import { createModel } from '../src/models/registry.js';
import { createOptimizer } from '../src/optim/registry.js';
import { openRowStream, resolveReadAhead, streamSchema } from '../src/schema/index.js';
import { Trainer } from '../src/train/trainer.js';
import { statCpuSeconds, threadCpuSeconds } from '../src/util/threadCpu.js';
import { freePort, waitForPort } from './localPort.js';
import { sharedDir } from './paths.js';
import { cpuModel, flagValue, hasFlag, Reporter } from './report.js';

const IDLE_S = 0.5;
const BUCKETS = 32768;

type RunOnline = (cfg: ExperimentConfig, opts: { quiet: boolean }) => Promise<OnlineRunResult>;

function config(file: string, model: string, output: string, online: Record<string, unknown>): ExperimentConfig {
  return parseExperimentConfig({
    data: {
      source: { format: 'criteo', path: file }, labels: [{ name: 'click', column: 'label' }],
      fields: [
        ...Array.from({ length: 13 }, (_, i) => ({ name: `I${i + 1}`, kind: 'numeric', transform: 'log-bucket' })),
        ...Array.from({ length: 26 }, (_, i) => ({ name: `C${i + 1}`, kind: 'categorical' })),
      ],
    },
    model: model === 'lr' ? { type: 'lr' } : { type: 'dnn', dim: 16, hidden: [256, 128] },
    train: {
      epochs: 1, batchSize: 256, seed: 1, threads: 1, logEvery: 1000,
      optimizer: { type: 'adagrad', lr: 0.05, initialAccumulator: 0.1 },
      online: { hashBuckets: BUCKETS, window: 2000, ...online },
    },
    output,
  }, `online cost bench (${model})`);
}

/** One shuffled epoch of the Trainer over the rows encoded beforehand: rows/s, CPU µs per row of the process and of the training thread, of the epoch alone. */
async function epoch(cfg: ExperimentConfig, file: string): Promise<{ rps: number; cpuUs: number; threadUs: number }> {
  const fitted = streamSchema(cfg.data, BUCKETS, cfg.file, 'train.online.hashBuckets');
  let ds;
  for await (const b of await openRowStream(fitted, cfg.data.source, file, '/', { batchSize: 1 << 30 })) ds = b.dataset;
  backend().setThreads(1);
  const model = createModel(cfg.model, {
    numIds: fitted.numIds, numFields: fitted.spec.fields.length, denseDim: 0, numSequences: 0, features: fitted.features(),
  }, cfg.train.seed);
  const optimizer = createOptimizer(cfg.train.optimizer, model);
  const trainer = new Trainer({ model, optimizer, train: new ShuffledBatches(ds!, { start: 0, end: ds!.numRows }, 256), epochs: 1, seed: 1 });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const th0 = threadCpuSeconds() ?? Number.NaN;
  await trainer.run();
  const c = process.cpuUsage(c0);
  const th = (threadCpuSeconds() ?? Number.NaN) - th0;
  const s = (performance.now() - t0) / 1000;
  return { rps: ds!.numRows / s, cpuUs: (c.user + c.system) / ds!.numRows, threadUs: th * 1e6 / ds!.numRows };
}

/** The stream's reading alone (parse and encode into batches of 256, as online training reads them; no training): rows/s and CPU µs per row. */
async function readOnly(cfg: ExperimentConfig, file: string): Promise<{ rps: number; cpuUs: number }> {
  const fitted = streamSchema(cfg.data, BUCKETS, cfg.file, 'train.online.hashBuckets');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let rows = 0;
  for await (const b of await openRowStream(fitted, cfg.data.source, file, '/', { batchSize: 256 })) rows += b.dataset.numRows;
  const c = process.cpuUsage(c0);
  return { rps: rows / ((performance.now() - t0) / 1000), cpuUs: (c.user + c.system) / rows };
}

interface NatsClient {
  transport: { connect(o: { servers: string }): Promise<{ close(): Promise<void> }> };
  js: {
    jetstreamManager(nc: unknown): Promise<{ streams: { add(cfg: { name: string; subjects: string[] }): Promise<unknown> } }>;
    jetstream(nc: unknown): { publish(subject: string, data: string): Promise<unknown> };
  };
}

/** The stream holding the lines `perMessage` to a message. */
const streamName = (perMessage: number): string => `BENCH${perMessage}`;

/** A local JetStream server holding `lines` as stream BENCH<N> for each N of `perMessage` (N lines a message), or the reason there is none. */
async function jetstream(dir: string, lines: string[], perMessage: number[]): Promise<{ servers: string; cpuSeconds(): number; stop(): void } | string> {
  if (spawnSync('nats-server', ['--version']).status !== 0) return 'nats-server is not on PATH';
  const load = (pkg: string): Promise<unknown> => import(pkg);
  let client: NatsClient;
  try {
    client = { transport: await load('@nats-io/transport-node') as NatsClient['transport'], js: await load('@nats-io/jetstream') as NatsClient['js'] };
  } catch {
    return 'the @nats-io packages are not installed';
  }
  const port = await freePort();
  const server: ChildProcess = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'store')], { stdio: 'ignore' });
  await waitForPort(port);
  const servers = `127.0.0.1:${port}`;
  const nc = await client.transport.connect({ servers });
  const jsm = await client.js.jetstreamManager(nc);
  const j = client.js.jetstream(nc);
  for (const n of perMessage) {
    const name = streamName(n);
    await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
    const msgs = Array.from({ length: Math.ceil(lines.length / n) }, (_, k) => lines.slice(k * n, (k + 1) * n).join('\n'));
    for (let i = 0; i < msgs.length; i += 512) await Promise.all(msgs.slice(i, i + 512).map((m) => j.publish(`${name.toLowerCase()}.rows`, m)));
  }
  await nc.close();
  return { servers, cpuSeconds: () => statCpuSeconds(`/proc/${server.pid}/stat`) ?? Number.NaN, stop: () => server.kill('SIGTERM') };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

export async function onlineCostBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const models = (flagValue(argv, '--model') ?? 'lr,dnn').split(',');
  const sources = (flagValue(argv, '--source') ?? 'file').split(',');
  const rounds = Number(flagValue(argv, '--rounds') ?? 3);
  const copies = Number(flagValue(argv, '--copies') ?? 4);
  const perMessage = (flagValue(argv, '--records-per-message') ?? '1').split(',').map(Number);
  for (const n of perMessage) if (!Number.isInteger(n) || n < 1) throw new Error(`--records-per-message: expected positive integers, got ${flagValue(argv, '--records-per-message')}`);
  const reads = (flagValue(argv, '--read') ?? 'ahead,in-thread').split(',');
  for (const m of reads) if (m !== 'ahead' && m !== 'in-thread') throw new Error(`--read: expected ahead and/or in-thread, got ${m}`);
  const other = flagValue(argv, '--code');
  const codes: [string, RunOnline][] = [['this', (await import('../src/experiment/onlineRun.js')).runOnlineTraining]];
  if (other !== undefined) {
    const mod = await import(pathToFileURL(join(resolve(other), 'src', 'experiment', 'onlineRun.js')).href) as { runOnlineTraining: RunOnline };
    codes.push([`code:${other}`, mod.runOnlineTraining]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ctrkit-online-cost-'));
  const head = gunzipSync(readFileSync(join(sharedDir(), 'data', 'criteo_kaggle_dac_head10k', 'criteo_kaggle_train_head10k.txt.gz'))).toString('utf8');
  const file = join(dir, 'criteo.txt');
  writeFileSync(file, head.repeat(copies));
  const lines = head.repeat(copies).split('\n').filter((l) => l.length > 0);
  const cores = availableParallelism();
  rep.note(`cpu ${cpuModel()}; ${cores} cores available (readAhead 'auto' reads a file ${resolveReadAhead('auto', 'file', cores) ? 'ahead' : 'in-thread'}, JetStream ${resolveReadAhead('auto', 'jetstream', cores) ? 'ahead' : 'in-thread'}); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${lines.length} rows`);
  let js: { servers: string; cpuSeconds(): number; stop(): void } | undefined;
  if (sources.includes('jetstream')) {
    const j = await jetstream(dir, lines, perMessage);
    if (typeof j === 'string') rep.note(`JetStream skipped: ${j}`);
    else js = j;
  }
  const ratios = new Map<string, { wall: number[]; cpu: number[]; thread: number[]; withServer: number[] }>();
  try {
    for (let round = 1; round <= rounds; round++) {
      // What reading costs a line of the stream's loop (native/lines.cc where the schema allows).
      const read = await readOnly(config(file, 'lr', join(dir, 'out'), {}), file);
      rep.row({ round, variant: 'read only (file, in-thread)', rows_per_s: Math.round(read.rps), cpu_us_per_row: r2(read.cpuUs) });
      for (const model of models) {
        const ep = await epoch(config(file, model, join(dir, 'out'), {}), file);
        rep.row({ round, model, variant: 'epoch', rows_per_s: Math.round(ep.rps), cpu_us_per_row: r2(ep.cpuUs), thread_cpu_us_per_row: r2(ep.threadUs) });
        const variants: [string, RunOnline, Record<string, unknown>, number][] = [];
        // Each source read ahead and in-thread back to back, in the opposite order every other round,
        // so that a drift of the machine's load over a round weighs on both alike.
        const modes = round % 2 === 1 ? reads : [...reads].reverse();
        for (const [name, run] of codes) {
          const sourcesOnline: [string, Record<string, unknown>, number][] = [
            ...(sources.includes('file') ? [['file', {}, 0] as [string, Record<string, unknown>, number]] : []),
            ...(js === undefined ? [] : perMessage.map((n): [string, Record<string, unknown>, number] => [`jetstream ${n}/msg`, { jetstream: { servers: js!.servers, stream: streamName(n), idleSeconds: IDLE_S } }, IDLE_S])),
          ];
          for (const [label, online, idle] of sourcesOnline) {
            for (const mode of modes) variants.push([`${label} ${mode} ${name}`, run, { ...online, readAhead: mode === 'ahead' }, idle]);
          }
        }
        for (const [variant, run, online, idle] of variants) {
          const server0 = js?.cpuSeconds() ?? Number.NaN;
          const r = await run(config(file, model, join(dir, `out-${round}`), online), { quiet: true });
          // The server's CPU over the whole run (setup and the idle end included: it is idle then).
          const serverUs = online.jetstream === undefined ? undefined : ((js?.cpuSeconds() ?? Number.NaN) - server0) * 1e6 / r.rows;
          rmSync(r.output, { recursive: true, force: true });
          const rps = r.rows / (r.rows / r.rowsPerSecond - idle);
          const cpuUs = r.loopCpuSeconds === undefined ? Number.NaN : r.loopCpuSeconds * 1e6 / r.rows;
          // The training thread's own CPU (a build without that figure: NaN).
          const threadUs = r.loopThreadCpuSeconds === undefined ? Number.NaN : r.loopThreadCpuSeconds * 1e6 / r.rows;
          rep.row({
            round, model, variant, rows: r.rows, rows_per_s: Math.round(rps), cpu_us_per_row: r2(cpuUs), thread_cpu_us_per_row: r2(threadUs),
            wall_ratio: r2(ep.rps / rps), cpu_ratio: r2(cpuUs / ep.cpuUs), thread_cpu_ratio: r2(threadUs / ep.threadUs),
            ...(serverUs !== undefined && { server_cpu_us_per_row: r2(serverUs), cpu_with_server_ratio: r2((cpuUs + serverUs) / ep.cpuUs) }),
          });
          const key = `${model} ${variant}`;
          const acc = ratios.get(key) ?? { wall: [], cpu: [], thread: [], withServer: [] };
          acc.wall.push(ep.rps / rps);
          acc.cpu.push(cpuUs / ep.cpuUs);
          acc.thread.push(threadUs / ep.threadUs);
          if (serverUs !== undefined) acc.withServer.push((cpuUs + serverUs) / ep.cpuUs);
          ratios.set(key, acc);
        }
      }
    }
  } finally {
    js?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [key, { wall, cpu, thread, withServer }] of ratios) {
    rep.row({
      summary: key, rounds: wall.length,
      wall_ratio_median: r2(median(wall)), wall_ratio_min: r2(Math.min(...wall)), wall_ratio_max: r2(Math.max(...wall)),
      cpu_ratio_median: r2(median(cpu)), cpu_ratio_min: r2(Math.min(...cpu)), cpu_ratio_max: r2(Math.max(...cpu)),
      thread_cpu_ratio_median: r2(median(thread)), thread_cpu_ratio_min: r2(Math.min(...thread)), thread_cpu_ratio_max: r2(Math.max(...thread)),
      ...(withServer.length > 0 && {
        cpu_with_server_ratio_median: r2(median(withServer)), cpu_with_server_ratio_min: r2(Math.min(...withServer)), cpu_with_server_ratio_max: r2(Math.max(...withServer)),
      }),
    });
  }
  rep.note(`load average after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
