/**
 * Scores predict batches on a worker thread (scoringWorker.ts), so that the event loop parses,
 * validates and encodes the next requests while a batch is being scored (onnxruntime-node's
 * session.run works off the loop the same way). Each served snapshot is loaded there too, from
 * its directory, and must come out as the same version; a batch's encoded columns go there by
 * transfer (no copy) and its probabilities come back the same way.
 *
 * Failure policy: a snapshot the thread cannot load for a reason other than a republished
 * directory, or kernels the thread cannot have (a test's setBackend), are scored on the event loop
 * (logged once, with why). If the thread dies, the batches it held are answered 503 (retry),
 * never left hanging; the next batch starts a new thread (loading its snapshot again), and after
 * MAX_RESTARTS deaths every batch is scored on the event loop.
 */
import { Worker } from 'node:worker_threads';
import { backend, nativeKernels, referenceKernels } from '../backend/index.js';
import type { Precision } from '../nn/quantize.js';
import type { StoredColumns } from '../schema/index.js';
import type { ColumnScorer } from './batcher.js';
import { RequestError } from './request.js';
import { SnapshotChangedError, type ModelSnapshot } from './snapshot.js';

export interface ScoringData {
  backend: 'native' | 'reference';
  /** Rows scored per kernel call (BatchOptions.chunkRows). */
  chunkRows: number;
}

export type ScoringRequest =
  | { type: 'load'; id: number; key: number; dir: string; precision: Precision; version: string }
  | { type: 'score'; id: number; key: number; cols: StoredColumns }
  | { type: 'drop'; key: number };

export type ScoringReply =
  | { id: number; ok: true; scores?: Float64Array[] }
  | { id: number; ok: false; message: string; changed: boolean };

/** Deaths of the scoring thread after which batches are scored on the event loop for good. */
export const MAX_RESTARTS = 3;

/** The thread stopped while a message of ours was in it. */
class ThreadStopped extends RequestError {
  constructor(why: string) {
    super(`the scoring thread stopped (${why}) before this request was scored; send it again`, undefined, undefined, 503);
  }
}

/** A snapshot scored on the thread. */
export interface ThreadScorer {
  /** Resolves once the thread holds the snapshot (or it is to be scored on the event loop); rejects with SnapshotChangedError when the directory no longer holds it. */
  readonly ready: Promise<void>;
  readonly score: ColumnScorer;
  /** The snapshot is retired and answered all its requests: the thread drops its copy. */
  release(): void;
}

interface Entry {
  readonly snapshot: ModelSnapshot;
  readonly precision: Precision;
  /** The thread that holds the snapshot, and the load under way into `loadingIn`. */
  loadedIn?: Worker;
  loadingIn?: Worker;
  loading?: Promise<void>;
  /** Why this snapshot is scored on the event loop. */
  fallback?: string;
}

/** Every buffer behind a batch's columns (each owned by the batch: RowStore.take, concatColumns). */
function buffersOf(cols: StoredColumns): ArrayBuffer[] {
  const arrays = [cols.codes, cols.dense, ...cols.labels, cols.weights, cols.groupOffsets, cols.parts, ...cols.sequences.flatMap((s) => [s.offsets, s.codes])];
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

  /** `chunkRows`: rows per kernel call; `warn`: a message for the server log (a fallback to the event loop, a thread that stopped). */
  constructor(private readonly chunkRows: number, private readonly warn: (message: string) => void) {
    const k = backend();
    if (k !== referenceKernels && k !== nativeKernels()) this.disabled = 'the process scores with kernels a thread cannot load (set by setBackend)';
  }

  /** The running thread's id (undefined before the first batch, after a death until the next batch, and after close). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  /** Messages (loads, batches) in the thread now. */
  get busy(): number {
    return this.pending.size;
  }

  /** Snapshots attached and not released (the served one, and a retired one until its last batch is answered). */
  get held(): number {
    return this.entries.size;
  }

  /** Where batches are scored: 'thread', or 'event loop (why)'. */
  where(): string {
    return this.disabled === undefined ? 'thread' : `event loop (${this.disabled})`;
  }

  /** Starts loading `snapshot` on the thread. */
  attach(snapshot: ModelSnapshot, precision: Precision): ThreadScorer {
    const key = this.nextKey++;
    const e: Entry = { snapshot, precision };
    this.entries.set(key, e);
    const ready = this.ensure(key, e).then(() => undefined);
    // Observed by whoever awaits ready; never an unhandled rejection.
    ready.catch(() => undefined);
    return {
      ready,
      score: async (cols) => {
        let there: boolean;
        try {
          there = await this.ensure(key, e);
        } catch (err) {
          // A new thread (after a death) cannot load it any more: the directory moved on.
          e.fallback = (err as Error).message;
          this.warn(`model ${snapshot.version}: ${e.fallback}; its requests are scored on the event loop`);
          return undefined;
        }
        if (!there) return undefined;
        const r = await this.request(e.loadedIn!, { type: 'score', id: 0, key, cols }, buffersOf(cols));
        if (!r.ok) throw new Error(`scoring thread: ${r.message}`);
        return r.scores!;
      },
      release: () => {
        this.entries.delete(key);
        if (e.loadedIn !== undefined && e.loadedIn === this.worker) this.worker.postMessage({ type: 'drop', key } satisfies ScoringRequest);
      },
    };
  }

  /** True when the thread holds the snapshot; false when it is to be scored on the event loop. */
  private async ensure(key: number, e: Entry): Promise<boolean> {
    if (e.fallback !== undefined) return false;
    const w = this.start();
    if (w === undefined) return false;
    if (e.loadedIn === w) return true;
    if (e.loadingIn !== w) {
      e.loadingIn = w;
      const { dir, version } = e.snapshot;
      e.loading = this.request(w, { type: 'load', id: 0, key, dir, precision: e.precision, version }).then((r) => {
        if (r.ok) {
          e.loadedIn = w;
          // Released while it loaded (a reload that failed, a swap meanwhile): the thread lets it go.
          if (!this.entries.has(key) && w === this.worker) w.postMessage({ type: 'drop', key } satisfies ScoringRequest);
        } else if (r.changed) throw new SnapshotChangedError(r.message);
        else {
          e.fallback = `the scoring thread could not load it: ${r.message}`;
          this.warn(`model ${version}: ${e.fallback}; its requests are scored on the event loop`);
        }
      });
    }
    try {
      await e.loading;
    } catch (err) {
      // This thread died while loading: the next batch tries a new one.
      if (err instanceof ThreadStopped) return false;
      throw err;
    }
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
      } else this.warn(`the scoring thread stopped (${why}); the next batch starts a new one`);
    });
    this.worker = w;
    return w;
  }

  /** Stops the thread as a death would (its batches are answered 503; the next batch starts a new thread): tests, and an operator's last resort. */
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
