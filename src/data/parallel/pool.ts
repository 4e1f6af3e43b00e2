/**
 * Parses a stream of line chunks on worker threads and hands back the results in file order. At
 * most `2 * workers` chunks are in flight, so memory stays bounded and a slow consumer slows the
 * reading down instead of buffering the file.
 */
import { Worker } from 'node:worker_threads';
import { parseChunk } from './chunkParsers.js';
import type { ChunkRequest, ChunkResult, ParseSpec, WorkerReply } from './protocol.js';

export interface ParseOptions {
  /** Worker threads; 0 parses on the calling thread (same results, for tiny files and debugging). */
  workers: number;
  skip: boolean;
  keep: number;
}

/** A parsed chunk together with its bytes (kept for a CSV chunk that must be redone). */
export interface OrderedChunk {
  result: ChunkResult;
  bytes: Buffer;
}

class WorkerPool {
  private readonly workers: Worker[];
  private readonly busy: number[];
  private readonly waiting = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void; worker: number }>();
  private failure: Error | undefined;

  constructor(spec: ParseSpec, n: number) {
    this.workers = [];
    this.busy = new Array<number>(n).fill(0);
    for (let w = 0; w < n; w++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: spec });
      worker.on('message', (reply: WorkerReply) => this.settle(reply));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => { if (code !== 0) this.fail(new Error(`parse worker exited with code ${code}`)); });
      this.workers.push(worker);
    }
  }

  submit(req: ChunkRequest): Promise<ChunkResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    // The least busy worker: chunks are similar in size, so this balances without work stealing.
    let w = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[w]!) w = i;
    this.busy[w]!++;
    return new Promise((resolve, reject) => {
      this.waiting.set(req.id, { resolve, reject, worker: w });
      this.workers[w]!.postMessage(req);
    });
  }

  private settle(reply: WorkerReply): void {
    const id = reply.ok ? reply.result.id : reply.id;
    const p = this.waiting.get(id);
    if (p === undefined) return;
    this.waiting.delete(id);
    this.busy[p.worker]!--;
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new Error(`parse worker failed: ${reply.message}`));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.waiting.values()) p.reject(err);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    this.failure ??= new Error('parse pool closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Yields parsed chunks in file order. A read error (e.g. truncated gzip) is thrown only after the
 * chunks read before it have been yielded, as the single-threaded readers yield rows before it.
 */
export async function* parseInOrder(chunks: AsyncIterable<Buffer>, spec: ParseSpec,
  options: ParseOptions): AsyncGenerator<OrderedChunk> {
  const base = { skip: options.skip, keep: options.keep };
  if (options.workers <= 0) {
    let id = 0;
    for await (const bytes of chunks) yield { result: parseChunk(spec, { ...base, id: id++, bytes }), bytes };
    return;
  }
  const pool = new WorkerPool(spec, options.workers);
  const queue: { result: Promise<ChunkResult>; bytes: Buffer }[] = [];
  const it = chunks[Symbol.asyncIterator]();
  let readError: unknown;
  let done = false;
  let id = 0;
  try {
    for (;;) {
      while (!done && queue.length < 2 * options.workers) {
        let next: IteratorResult<Buffer>;
        try {
          next = await it.next();
        } catch (err) {
          readError = err;
          done = true;
          break;
        }
        if (next.done === true) {
          done = true;
          break;
        }
        const result = pool.submit({ ...base, id: id++, bytes: next.value });
        // Handled when it reaches the head of the queue; this only stops an early rejection from
        // being reported as unhandled while earlier chunks are awaited.
        result.catch(() => undefined);
        queue.push({ result, bytes: next.value });
      }
      const head = queue.shift();
      if (head === undefined) break;
      yield { result: await head.result, bytes: head.bytes };
    }
    if (readError !== undefined) throw readError;
  } finally {
    if (!done) await it.return?.();
    await pool.close();
  }
}
