/**
 * Scores a served snapshot's work on a worker thread (scoringWorker.ts): /v1/predict batches,
 * /v1/rank batches (against item vectors the thread computes as it loads the snapshot) and
 * /v1/treatments requests, so that the event loop parses, validates and encodes the next requests
 * meanwhile (onnxruntime-node's session.run works off the loop the same way). Each served snapshot
 * is loaded there from its directory and must come out as the same version; the event loop holds
 * only its manifest and fitted schema (loadSnapshotHead) and the thread's weights, which the thread
 * decodes onto SharedArrayBuffers and posts to it (shared, not copied: the event loop scores small
 * predict requests with them, BatchOptions.loopRows, and posts them back to a thread started after
 * a death). Encoded columns go there by transfer (no copy) and probabilities come back the same way.
 *
 * Failure policy: a snapshot the thread cannot load for a reason other than a republished
 * directory, or kernels the thread cannot have (a test's setBackend), are scored on the event loop
 * (with the shared weights, else its weights loaded there first; logged once, with why). If the
 * thread dies, the work it held is answered 503 (retry), never left hanging; the next request
 * starts a new thread (loading its snapshot again, around the weights the event loop still
 * shares), and after MAX_RESTARTS deaths everything is scored on the event loop.
 */
import { Worker } from 'node:worker_threads';
import { backend, nativeKernels, referenceKernels } from '../backend/index.js';
import type { WeightTensors } from '../io/verifiedWeights.js';
import type { Precision, PrecisionReport } from '../nn/quantize.js';
import { ConfigError } from '../schema/errors.js';
import type { StoredColumns } from '../schema/index.js';
import type { ItemShape, ItemsSource, RankSlice } from './rank.js';
import { RequestError } from './request.js';
import { SnapshotChangedError, type ModelSnapshot } from './snapshot.js';
import type { WeightsReader } from './weightsReader.js';

export interface ScoringData {
  backend: 'native' | 'reference';
  /** Rows scored per kernel call (BatchOptions.chunkRows). */
  chunkRows: number;
}

/**
 * Work on one snapshot, scored where its weights are: a predict batch (one array per task), a
 * rank batch (one [rows × items] array per request), a treatments request ([rows × treatments]).
 */
export type ScoringJob =
  | { kind: 'predict'; cols: StoredColumns }
  | { kind: 'rank'; cols: StoredColumns; slices: RankSlice[] }
  | { kind: 'treatments'; rows: StoredColumns; treatments: StoredColumns };

/** Scores a job on the scoring thread, taking its arrays; undefined (nothing taken) when it must be scored on the event loop instead. */
export type JobScorer = (job: ScoringJob) => Promise<Float64Array[] | undefined>;

/** An error raised on the thread: its message, and whether it is the user's to fix (a bad items file). */
export interface ThreadError {
  message: string;
  user: boolean;
}

export type ScoringRequest =
  | { type: 'load'; id: number; key: number; dir: string; precision: Precision; version: string; items?: ItemsSource; weights?: WeightTensors }
  | { type: 'score'; id: number; key: number; job: ScoringJob }
  | { type: 'drop'; key: number };

export type ScoringReply =
  | { id: number; ok: true; scores?: Float64Array[]; precision?: PrecisionReport; items?: { shape: ItemShape } | { error: ThreadError }; weights?: WeightTensors }
  | { id: number; ok: false; message: string; changed: boolean };

/** Deaths of the scoring thread after which everything is scored on the event loop for good. */
export const MAX_RESTARTS = 3;

/** The thread stopped while a message of ours was in it. */
class ThreadStopped extends RequestError {
  constructor(why: string) {
    super(`the scoring thread stopped (${why}) before this request was scored; send it again`, undefined, undefined, 503);
  }
}

/** A snapshot scored on the thread. */
export interface ThreadScorer {
  /**
   * Resolves once the snapshot can be scored: the thread holds it or, where it falls back, the
   * event loop holds its weights; rejects when neither could load it (SnapshotChangedError when
   * the directory no longer holds it).
   */
  readonly ready: Promise<void>;
  /** With items: their shape once the thread computed their vectors; undefined where the event loop scores the snapshot; rejects with why the thread could not compute them. */
  readonly items: Promise<ItemShape | undefined>;
  readonly run: JobScorer;
  /** The snapshot is retired (its requests were all handed over): the thread drops its copy once those in flight are answered. */
  release(): void;
}

interface Entry {
  readonly snapshot: ModelSnapshot;
  readonly precision: Precision;
  readonly items: ItemsSource | undefined;
  /** The thread that holds the snapshot, and the load under way into `loadingIn`. */
  loadedIn?: Worker;
  loadingIn?: Worker;
  loading?: Promise<void>;
  /** What the first thread that loaded it made of the items file. */
  itemsReply?: { shape: ItemShape } | { error: ThreadError };
  /** Why this snapshot is scored on the event loop. */
  fallback?: string;
  /** The event loop said so in the log. */
  told?: boolean;
  /** Jobs of it under way (run), and whether it is retired (release). */
  inflight: number;
  released: boolean;
}

/** Every buffer behind a job's columns (each owned by the job: RowStore.take, concatColumns). */
function buffersOf(job: ScoringJob): ArrayBuffer[] {
  const all = job.kind === 'treatments' ? [job.rows, job.treatments] : [job.cols];
  const arrays = all.flatMap((cols) => [cols.codes, cols.dense, ...cols.labels, cols.weights, cols.groupOffsets, cols.parts, ...cols.sequences.flatMap((s) => [s.offsets, s.codes])]);
  return [...new Set(arrays.flatMap((a) => (a === undefined ? [] : [a.buffer as ArrayBuffer])))];
}

export class ScoringThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private nextKey = 0;
  private readonly pending = new Map<number, { worker: Worker; resolve(r: ScoringReply): void; reject(e: Error): void }>();
  private readonly entries = new Map<number, Entry>();
  private deaths = 0;
  private closed = false;
  /** Why no batch is scored on the thread any more. */
  private disabled: string | undefined;

  /**
   * `chunkRows`: rows per kernel call; `warn`: a message for the server log (a fallback to the
   * event loop, a thread that stopped); `reader`: reads a snapshot's weights where the event loop scores it.
   */
  constructor(private readonly chunkRows: number, private readonly warn: (message: string) => void, private readonly reader: WeightsReader) {
    const k = backend();
    if (k !== referenceKernels && k !== nativeKernels()) this.disabled = 'the process scores with kernels a thread cannot load (set by setBackend)';
  }

  /** The running thread's id (undefined before the first batch, after a death until the next batch, and after close). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  /** Messages (loads, jobs) in the thread now. */
  get busy(): number {
    return this.pending.size;
  }

  /** Snapshots attached and not let go (the served one, and a retired one until its last job is answered). */
  get held(): number {
    return this.entries.size;
  }

  /** Where requests are scored: 'thread', or 'event loop (why)'. */
  where(): string {
    return this.disabled === undefined ? 'thread' : `event loop (${this.disabled})`;
  }

  /** Starts loading `snapshot` on the thread (with `items`: computing their vectors there too). */
  attach(snapshot: ModelSnapshot, precision: Precision, items?: ItemsSource): ThreadScorer {
    const key = this.nextKey++;
    const e: Entry = { snapshot, precision, items, inflight: 0, released: false };
    this.entries.set(key, e);
    const placed = this.place(key, e);
    const ready = placed.then(() => undefined);
    const shape = placed.then((there) => {
      const r = e.itemsReply;
      if (!there || r === undefined) return undefined;
      if ('shape' in r) return r.shape;
      // The same message the event loop would give; a user's mistake stays one (a one-line CLI error).
      throw r.error.user ? new ConfigError([r.error.message]) : new Error(r.error.message);
    });
    // Observed by whoever awaits them; never an unhandled rejection.
    ready.catch(() => undefined);
    shape.catch(() => undefined);
    return {
      ready,
      items: shape,
      run: async (job) => {
        e.inflight++;
        try {
          return await this.score(key, e, job);
        } finally {
          e.inflight--;
          this.dropIfDone(key, e);
        }
      },
      release: () => {
        e.released = true;
        this.dropIfDone(key, e);
      },
    };
  }

  private async score(key: number, e: Entry, job: ScoringJob): Promise<Float64Array[] | undefined> {
    let there: boolean;
    try {
      there = await this.ensure(key, e);
    } catch (err) {
      if (!(err instanceof SnapshotChangedError)) throw err;
      // A new thread (after a death) cannot load it any more: the directory moved on.
      e.fallback = err.message;
      there = false;
    }
    if (!there) {
      try {
        await this.onLoop(e);
      } catch (err) {
        throw new RequestError(`model ${e.snapshot.version} cannot be scored (${(err as Error).message}); send it again`, undefined, undefined, 503);
      }
      return undefined;
    }
    const r = await this.request(e.loadedIn!, { type: 'score', id: 0, key, job }, buffersOf(job));
    if (!r.ok) throw new Error(`scoring thread: ${r.message}`);
    return r.scores!;
  }

  /**
   * A retired snapshot with nothing in flight: the thread lets it go. A job that comes later still
   * (a request that read the snapshot just before the swap) loads it into the thread again.
   */
  private dropIfDone(key: number, e: Entry): void {
    if (!e.released || e.inflight > 0) return;
    if (e.loadedIn !== undefined && e.loadedIn === this.worker) this.worker.postMessage({ type: 'drop', key } satisfies ScoringRequest);
    e.loadedIn = undefined;
    e.loadingIn = undefined;
    this.entries.delete(key);
  }

  /** True once the thread holds the snapshot; false once the event loop holds its weights instead (or it was retired meanwhile). */
  private async place(key: number, e: Entry): Promise<boolean> {
    for (;;) {
      try {
        if (await this.ensure(key, e)) return true;
        break;
      } catch (err) {
        // That thread died while loading it: a new one tries (after MAX_RESTARTS, the event loop).
        if (!(err instanceof ThreadStopped) || this.closed) throw err;
      }
    }
    if (!e.released) await this.onLoop(e);
    return false;
  }

  /** Loads the snapshot's weights on the event loop (once), and says so. */
  private async onLoop(e: Entry): Promise<void> {
    await e.snapshot.loadWeights(this.reader);
    if (e.told === true) return;
    e.told = true;
    this.warn(`model ${e.snapshot.version}: ${e.fallback ?? this.disabled}; its requests are scored on the event loop (its weights loaded there)`);
  }

  /** True when the thread holds the snapshot; false when it is to be scored on the event loop; ThreadStopped when the thread died while loading it. */
  private async ensure(key: number, e: Entry): Promise<boolean> {
    if (e.fallback !== undefined) return false;
    if (this.closed) throw new ThreadStopped('the server is closing');
    const w = this.start();
    if (w === undefined) return false;
    if (e.loadedIn === w) return true;
    if (e.loadingIn !== w) {
      e.loadingIn = w;
      const { dir, version } = e.snapshot;
      // Weights the event loop already shares (a thread that died held them) are posted back, not read again.
      const weights = e.snapshot.weights;
      e.loading = this.request(w, { type: 'load', id: 0, key, dir, precision: e.precision, version, ...(e.items && { items: e.items }), ...(weights && { weights }) }).then((r) => {
        if (r.ok) {
          e.loadedIn = w;
          e.snapshot.precision ??= r.precision;
          // The thread's weights, in memory it shares with the event loop (which scores small batches with them).
          if (r.weights !== undefined) e.snapshot.shareWeights(r.weights);
          e.itemsReply ??= r.items;
          // Released while it loaded (a reload that failed, a swap meanwhile): the thread lets it go.
          this.dropIfDone(key, e);
        } else if (r.changed) throw new SnapshotChangedError(r.message);
        else e.fallback = `the scoring thread could not load it: ${r.message}`;
      });
    }
    await e.loading;
    return e.loadedIn === w;
  }

  private request(w: Worker, m: ScoringRequest & { id: number }, transfer: ArrayBuffer[] = []): Promise<ScoringReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (w !== this.worker) return reject(new ThreadStopped('it had stopped already'));
      this.pending.set(id, { worker: w, resolve, reject });
      w.ref();
      w.postMessage({ ...m, id }, transfer);
    });
  }

  private start(): Worker | undefined {
    if (this.worker !== undefined || this.closed) return this.worker;
    if (this.disabled !== undefined) return undefined;
    const kind = backend() === referenceKernels ? 'reference' : 'native';
    let w: Worker;
    try {
      w = new Worker(new URL('./scoringWorker.js', import.meta.url), { workerData: { backend: kind, chunkRows: this.chunkRows } satisfies ScoringData });
    } catch (e) {
      this.disabled = `no scoring thread could be started: ${(e as Error).message}`;
      this.warn(`${this.disabled}; every request is scored on the event loop`);
      return undefined;
    }
    w.unref();
    w.on('message', (r: ScoringReply) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      // Idle, the thread must not keep the process alive.
      if (![...this.pending.values()].some((q) => q.worker === w)) w.unref();
      p?.resolve(r);
    });
    let why = 'it exited';
    w.on('error', (e) => {
      why = e.message;
    });
    w.on('exit', (code) => {
      if (code !== 0 && why === 'it exited') why = `exit code ${code}`;
      for (const [id, p] of this.pending) {
        if (p.worker !== w) continue;
        this.pending.delete(id);
        p.reject(new ThreadStopped(why));
      }
      if (this.worker !== w) return;
      this.worker = undefined;
      if (this.closed) return;
      this.deaths++;
      if (this.deaths > MAX_RESTARTS) {
        this.disabled = `the scoring thread stopped ${this.deaths} times, last: ${why}`;
        this.warn(`${this.disabled}; every request is now scored on the event loop`);
      } else this.warn(`the scoring thread stopped (${why}); the next request starts a new one`);
    });
    this.worker = w;
    return w;
  }

  /** Stops the thread as a death would (its work is answered 503; the next request starts a new thread): tests, and an operator's last resort. */
  async restart(): Promise<void> {
    await this.stop(this.worker);
  }

  /** Stops the thread for good (after the server's last request). */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    await this.stop(w);
  }

  private async stop(w: Worker | undefined): Promise<void> {
    // An unref'd thread's exit does not keep the process waiting for it: terminate() would never settle.
    w?.ref();
    await w?.terminate();
  }
}
