/**
 * Reads and verifies weights files on a worker thread (weightsWorker.ts), one file at a time, so
 * that reading and hashing a large snapshot does not hold up requests. The decoded tensors come
 * back by transfer (no copy), or, read `shared`, on SharedArrayBuffers that any thread they are
 * posted to holds without a copy (the scoring thread shares them with the event loop).
 */
import { Worker } from 'node:worker_threads';
import { ModelFileError } from '../io/modelFileError.js';
import type { WeightTensors } from '../io/verifiedWeights.js';

export interface WeightsRequest {
  id: number;
  path: string;
  sha256: string;
  shared: boolean;
}

export type WeightsReply =
  | { id: number; ok: true; tensors: WeightTensors }
  | { id: number; ok: false; message: string; modelFile: boolean };

export class WeightsReader {
  /** `shared`: the tensors are decoded onto SharedArrayBuffers (readSafetensors). */
  constructor(private readonly shared = false) {}

  private worker: Worker | undefined;
  private next = 0;
  private readonly pending = new Map<number, { resolve(t: WeightTensors): void; reject(e: Error): void }>();

  /** The tensors of `path`, whose sha256 must be `sha256` (else a ModelFileError naming the file). */
  read(path: string, sha256: string): Promise<WeightTensors> {
    const worker = this.start();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, path, sha256, shared: this.shared } satisfies WeightsRequest);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./weightsWorker.js', import.meta.url));
    w.unref();
    w.on('message', (r: WeightsReply) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      // Idle, the worker must not keep the process alive.
      if (this.pending.size === 0) w.unref();
      if (r.ok) p?.resolve(r.tensors);
      else p?.reject(r.modelFile ? new ModelFileError(r.message) : new Error(r.message));
    });
    const fail = (e: Error): void => {
      for (const p of this.pending.values()) p.reject(new Error(`the weights reader stopped: ${e.message}`));
      this.pending.clear();
      this.worker = undefined;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    // Unref'd, its exit would not keep the process waiting: terminate() would never settle.
    w?.ref();
    if (w) await w.terminate();
  }
}
