/**
 * The HTTP face of a model directory (`ctrkit serve`): fastify routes over a hot-reloaded model
 * snapshot and a request batcher. Every request is answered with JSON; what a client got wrong
 * is a 4xx naming the row and field, never a 500.
 *
 *   POST /v1/predict  {"rows": [{field: value, …}, …], "context": {field: value, …}?}
 *                     → {"model": version, "scores": [p, …]}   (one task; several: {task: [p, …]})
 *   POST /v1/rank     {"rows": [...], "items": [i, …]?, "top": k?} (two-tower model, --items)
 *                     → {"model": version, "items": [i, …], "scores": [[p per item] per row]}
 *   POST /v1/treatments {"rows": [...], "treatments": [{u field: value, …}, …], "top": k?} (Q·U model)
 *                     → {"model": version, "scores": [[p per treatment] per row]}
 *   GET  /v1/model    what is served: version, model type, tasks, fields, data hash, precision
 *   GET  /healthz     the process is up      GET /readyz   a model is loaded and not shutting down
 *   GET  /metrics     Prometheus text
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Batcher, DEFAULT_BATCH_OPTIONS, type BatchOptions, type Scorer } from './batcher.js';
import { errorKind, ServeMetrics } from './metrics.js';
import { Reloader, DEFAULT_RELOAD_OPTIONS, type CheckResult, type ReloadOptions } from './reloader.js';
import { parseJsonBody, readPredictBody, readPredictText, RequestError } from './request.js';
import { ModelFileError } from '../io/modelFile.js';
import { itemOnlyFeatures, rankerOf, RankBatcher, readRankBody, topItems, type ItemShape } from './rank.js';
import type { RawValue } from '../data/prep/field.js';
import { readTreatmentBody, scoreTreatments, treatmentAnswer, treatmentSplit } from './treatments.js';
import { loadSnapshot, loadSnapshotHead, loadSnapshotOffLoop, SnapshotChangedError, type ModelSnapshot } from './snapshot.js';
import { WeightsReader } from './weightsReader.js';
import { ScoringThread, type ThreadScorer } from './scoringThread.js';
import type { Precision } from '../nn/quantize.js';

export interface ServeOptions {
  modelDir: string;
  /** Default 127.0.0.1 (loopback: exposing the server is a decision, not a default). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** When set, every route but /healthz and /readyz needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Rows per predict request (default 4096). */
  maxRows?: number;
  /** Request body bytes (default 8 MiB). */
  bodyLimit?: number;
  batch?: Partial<BatchOptions>;
  /**
   * A two-tower model's candidate items (a file in the model's input format): their item vectors
   * are computed with each snapshot as it loads, and POST /v1/rank scores requests against them.
   */
  items?: string;
  /** The items file has the label column(s). */
  itemsHaveLabels?: boolean;
  reload?: Partial<ReloadOptions>;
  /**
   * Scores a snapshot's encoded rows instead of the snapshot itself (undefined: the snapshot does);
   * the serve bench plugs in onnxruntime-node this way to compare scorers behind the same HTTP layer.
   */
  scorer?: (snapshot: ModelSnapshot) => Scorer | undefined;
  /** fastify's logger option (default: off). */
  logger?: FastifyServerOptions['logger'];
  /** Inference precision of every snapshot's dense layers (default fp32; int8 / bf16: src/nn/quantize.ts). */
  precision?: Precision;
  /**
   * Score /v1/predict, /v1/rank and /v1/treatments on a worker thread (scoringThread.ts) that holds
   * the weights (the event loop then holds none) while the event loop reads the next requests (true),
   * or on the event loop, in chunks (false). Default 'auto': the thread when
   * the process may use 2 CPUs or more (on one CPU there is nothing to overlap with: docs/benchmarks.md,
   * "The scoring thread"). Ignored with `scorer`.
   */
  scoreThread?: boolean | 'auto';
}

/** A snapshot with the batcher that scores requests encoded by it. */
interface Served {
  readonly snapshot: ModelSnapshot;
  readonly batcher: Batcher;
  readonly version: string;
  readonly stamp: string;
  /** With --items: the shape of this snapshot's item vectors (rejected when they cannot be computed; never a stale table) and the batcher of rank requests over them. */
  readonly items?: Promise<{ table: ItemShape; ranker: RankBatcher }>;
  readonly itemOnly?: ReadonlyMap<number, RawValue>;
  /** With the scoring thread: this snapshot's copy there. */
  readonly thread?: ThreadScorer;
}

export interface ReloadFailure {
  message: string;
  at: string;
}

export interface CtrkitServer {
  readonly app: FastifyInstance;
  readonly metrics: ServeMetrics;
  /** The snapshot new requests get. */
  current(): ModelSnapshot;
  /** Checks the model directory now (what the watcher and the poll do); resolves once a changed snapshot is loaded or rejected. */
  reload(): Promise<CheckResult>;
  /** Resolves once the current snapshot's item vectors are computed (at once without --items); rejects with why they cannot be. */
  ready(): Promise<void>;
  /** Listens on host:port once ready(); resolves with the URL. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, stops watching and the scoring thread. */
  close(): Promise<void>;
  /** The scoring thread (undefined when batches are scored on the event loop: scoreThread false, or an alternative scorer). */
  readonly scoring: ScoringThread | undefined;
}

const OPEN_ROUTES = new Set(['/healthz', '/readyz']);
const PREDICT = '/v1/predict';
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * A float64 array as JSON text, written directly rather than copied into a JS array for
 * JSON.stringify: a finite number prints the same either way (the shortest form that round-trips);
 * a non-finite one is JSON's null, as JSON.stringify writes it.
 */
export function jsonNumbers(a: Float64Array): string {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) return JSON.stringify(Array.from(a));
  }
  return `[${a.join(',')}]`;
}

/** /v1/predict's answer: one task's scores as a list, several as {task: list}. */
export function predictAnswer(version: string, tasks: readonly string[], scores: readonly Float64Array[]): string {
  const lists = tasks.length === 1 ? jsonNumbers(scores[0]!) : `{${tasks.map((t, i) => `${JSON.stringify(t)}:${jsonNumbers(scores[i]!)}`).join(',')}}`;
  return `{"model":${JSON.stringify(version)},"scores":${lists}}`;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function createServer(opts: ServeOptions): CtrkitServer {
  const batch: BatchOptions = { ...DEFAULT_BATCH_OPTIONS, ...opts.batch };
  const maxRows = opts.maxRows ?? 4096;
  const metrics = new ServeMetrics();
  const precision = opts.precision ?? 'fp32';
  const threaded = opts.scoreThread === undefined || opts.scoreThread === 'auto' ? availableParallelism() >= 2 : opts.scoreThread;
  const weights = new WeightsReader();
  const scoring = opts.scorer === undefined && threaded ? new ScoringThread(batch.chunkRows, (m) => app.log.warn(m), weights) : undefined;
  const itemsSource = opts.items === undefined ? undefined : { file: opts.items, labels: opts.itemsHaveLabels ?? false };
  const serve = (snapshot: ModelSnapshot, initial = false): Served => {
    // Throws for a model that is not two-tower: at startup a user error, at a reload a rejected snapshot.
    const itemOnly = itemsSource && itemOnlyFeatures(snapshot);
    const thread = scoring?.attach(snapshot, precision, itemsSource);
    const served: Served = {
      snapshot, version: snapshot.version, stamp: snapshot.stamp, thread,
      batcher: new Batcher(snapshot, batch, {
        onBatch: (n) => metrics.batchRows.observe(n), scorer: opts.scorer?.(snapshot), remote: thread?.run,
        onScored: (there) => metrics.batches.inc({ scorer: there ? 'thread' : 'event_loop' }), clients: () => clients,
      }),
    };
    if (itemsSource === undefined) return served;
    const items = rankerOf(snapshot, itemsSource, batch, (n) => metrics.batchRows.observe(n), thread);
    // The first snapshot's failure is ready()'s to report (a startup error); a reload's is logged.
    // (Not a snapshot rejected as a whole: that failure is the reload's to report.)
    items.catch((e: unknown) => {
      if (!initial) void Promise.resolve(thread?.ready).then(() => app.log.error({ version: snapshot.version, error: (e as Error).message }, 'item vectors failed; /v1/rank answers 503 for this model'), () => undefined);
    });
    return { ...served, items, itemOnly };
  };
  const modelLabels = (s: ModelSnapshot): { version: string; type: string; dataHash: string } =>
    ({ version: s.version, type: s.manifest.model.type, dataHash: s.manifest.provenance.dataHash });

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024, return503OnClosing: true,
    // A line per request would swamp the log at serving rates; errors and reloads are logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Open connections that have sent predict requests: a request from the only one is a sequential
  // client's (Batcher). Health probes and metrics scrapers, which keep theirs open, do not count.
  let clients = 0;
  const predicting = new WeakSet<Socket>();
  const countClient = (socket: unknown): void => {
    // Not a socket under inject(): its requests come one client's way.
    if (!(socket instanceof Socket) || predicting.has(socket)) return;
    predicting.add(socket);
    clients++;
    socket.once('close', () => clients--);
  };
  // The initial load fails loudly (a user error for the CLI); later ones only keep the old model.
  let first: Served;
  try {
    // With a scoring thread, the event loop reads no weights (the thread does).
    first = serve(scoring === undefined ? loadSnapshot(opts.modelDir, opts.precision) : loadSnapshotHead(opts.modelDir, opts.precision), true);
  } catch (e) {
    // At startup there is no previous model to wait with: an absent manifest is the user's error.
    if (e instanceof SnapshotChangedError) throw new ModelFileError(`${opts.modelDir}: not a ctrkit model directory (${e.message})`);
    throw e;
  }
  metrics.setModel(modelLabels(first.snapshot));
  let lastReloadError: ReloadFailure | undefined;
  const load = async (dir: string): Promise<Served> => {
    const next = serve(scoring === undefined ? await loadSnapshotOffLoop(dir, weights, opts.precision) : loadSnapshotHead(dir, opts.precision));
    try {
      // Swapped in only once the scoring thread holds it (or the event loop its weights; a republished directory is a retry).
      await next.thread?.ready;
    } catch (e) {
      next.thread?.release();
      throw e;
    }
    return next;
  };
  const reloader = new Reloader<Served>(opts.modelDir, first, load, { ...DEFAULT_RELOAD_OPTIONS, ...opts.reload }, {
    retired(old) {
      // In-flight batches (predict's, rank's) finish on the old copy; then the scoring thread lets it go.
      if (old.thread !== undefined) void Promise.all([old.batcher.idle(), old.items?.then((r) => r.ranker.idle(), () => undefined)]).then(() => old.thread!.release());
    },
    swapped(next, previous) {
      metrics.reloads.inc({ result: 'ok' });
      metrics.setModel(modelLabels(next.snapshot));
      lastReloadError = undefined;
      app.log.info({ version: next.version, previous: previous.version }, 'model reloaded');
    },
    failed(err) {
      metrics.reloads.inc({ result: 'failed' });
      lastReloadError = { message: err.message, at: new Date().toISOString() };
      app.log.error({ dir: opts.modelDir, error: err.message }, 'model snapshot rejected; the previous model keeps serving');
    },
  });
  let closing = false;

  // Any content type is read as JSON: `curl -d` sends form-urlencoded, and a body that is not
  // JSON is a 400 whatever it claims to be. Plain JSON.parse is safe here: a "__proto__" key
  // becomes an own property, and request objects are only read through a Map of field names.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    // Decoded once from the whole body: a flat string (read as text chunk by chunk it is a rope,
    // which the predict reader's character loop reads a sixth slower).
    const text = (body as Buffer).toString('utf8');
    // /v1/predict reads its text itself (readPredictText: a plain rows body without JSON.parse).
    if (req.routeOptions.url === PREDICT) return done(null, text);
    try {
      done(null, parseJsonBody(text));
    } catch (e) {
      done(e as RequestError, undefined);
    }
  });

  if (opts.token !== undefined) {
    const want = digest(opts.token);
    app.addHook('onRequest', async (req, reply) => {
      if (OPEN_ROUTES.has(req.url.split('?', 1)[0]!)) return;
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      if (m === null || !timingSafeEqual(digest(m[1]!), want)) {
        reply.header('www-authenticate', 'Bearer');
        throw new RequestError('missing or wrong bearer token', undefined, undefined, 401);
      }
    });
  }
  // Node closes idle keep-alive connections once when closing starts; one whose response is
  // still being computed would otherwise stay open for the keep-alive timeout after it.
  // Both hooks run for every request: callback hooks, not async ones (no promise per hook per request).
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    const kind = errorKind(reply.statusCode);
    if (kind !== undefined) metrics.errors.inc({ route, kind });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    done();
  });
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof RequestError) return reply.code(err.status).send({ error: err.toJSON() });
    // fastify's own 4xx: body not JSON, empty, over bodyLimit (413), …
    const { statusCode: status, message } = err as { statusCode?: number; message?: string };
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: errorKind(status), message: message ?? 'bad request' } });
    }
    req.log.error({ err }, 'internal error');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error (see the server log)' } });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?', 1)[0]}` } }));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (closing) return reply.code(503).send({ status: 'shutting down' });
    return { status: 'ready', model: reloader.current.version };
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/v1/model', async () => {
    const served = reloader.current;
    // The precision report comes from whichever thread loads the weights.
    await served.thread?.ready.catch(() => undefined);
    const s = served.snapshot;
    const m = s.manifest;
    return {
      model: s.version, type: m.model.type, config: m.model, tasks: s.tasks, fields: s.features, calibrated: s.calibrated,
      dataHash: m.provenance.dataHash, createdAt: m.createdAt, ctrkitVersion: m.provenance.ctrkitVersion, metrics: m.metrics,
      loadedAt: s.loadedAt.toISOString(), maxRows, precision: s.precision, scoring: scoring?.where() ?? 'event loop',
      ...(lastReloadError === undefined ? {} : { lastReloadError }),
    };
  });
  app.post(PREDICT, async (req, reply) => {
    // Pinned for the whole request: a reload meanwhile does not change the model that scores it.
    const served = reloader.current;
    const s = served.snapshot;
    // A request without a body has none to parse (req.body undefined: readPredictBody names it).
    const rows = typeof req.body === 'string' ? readPredictText(req.body, s.features, s.encoder, maxRows)
      : readPredictBody(req.body, s.features, s.encoder, maxRows);
    metrics.requestRows.observe(rows.numRows);
    countClient(req.raw.socket);
    const scores = await served.batcher.submit(rows);
    return reply.type(JSON_TYPE).send(predictAnswer(s.version, s.tasks, scores));
  });

  app.post('/v1/rank', async (req, reply) => {
    const served = reloader.current;
    const s = served.snapshot;
    if (served.items === undefined) throw new RequestError('this server ranks no items (start it with --items FILE and a two-tower model)', undefined, undefined, 404);
    let ranking: { table: ItemShape; ranker: RankBatcher };
    try {
      ranking = await served.items;
    } catch (e) {
      throw new RequestError(`the item vectors of model ${s.version} could not be computed: ${(e as Error).message}`, undefined, undefined, 503);
    }
    const { table, ranker } = ranking;
    const r = readRankBody(req.body, s, table, maxRows, served.itemOnly!);
    const rows = r.rows.numRows;
    metrics.requestRows.observe(rows);
    const scores = await ranker.submit(r.rows, r.items);
    const ids = r.items ?? Array.from({ length: table.count }, (_, i) => i);
    if (r.top !== undefined) return { model: s.version, ...topItems(scores, ids, rows, r.top) };
    const n = ids.length;
    const lists = Array.from({ length: rows }, (_, i) => jsonNumbers(scores.subarray(i * n, (i + 1) * n)));
    return reply.type(JSON_TYPE).send(`{"model":${JSON.stringify(s.version)},"items":${JSON.stringify(ids)},"scores":[${lists.join(',')}]}`);
  });

  app.post('/v1/treatments', async (req) => {
    const served = reloader.current;
    const s = served.snapshot;
    const split = treatmentSplit(s);
    const r = readTreatmentBody(req.body, s, split, maxRows);
    metrics.requestRows.observe(r.rows.numRows);
    return treatmentAnswer(s.version, r, await scoreTreatments(s, r, served.thread));
  });

  const ready = async (): Promise<void> => {
    // Republished since the event loop read it: answered 503 (send it again) until the reload swaps.
    await reloader.current.thread?.ready.catch((e: unknown) => {
      if (!(e instanceof SnapshotChangedError)) throw e;
    });
    await reloader.current.items;
  };
  return {
    app,
    metrics,
    current: () => reloader.current.snapshot,
    reload: () => reloader.check(),
    ready,
    scoring,
    async listen() {
      await ready();
      const url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
      const note = reloader.start();
      if (note !== undefined) app.log.warn(note);
      return url;
    },
    async close() {
      closing = true;
      reloader.stop();
      await app.close();
      await weights.close();
      await scoring?.close();
    },
  };
}
