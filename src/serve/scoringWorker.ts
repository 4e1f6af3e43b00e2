/**
 * The scoring thread (scoringThread.ts): holds its own copy of each served snapshot, loaded from
 * the model directory as the event loop read it (reading and hashing the weights on a worker of
 * its own, so that loading a new snapshot pauses the scoring of the current one only briefly),
 * with the vectors of the items file for /v1/rank, and scores the jobs it is sent with the very
 * functions the event loop uses where it scores (predict's is the one behind `ctrkit predict`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { referenceKernels, setBackend } from '../backend/index.js';
import { DataFormatError } from '../data/readers/errors.js';
import { ModelFileError } from '../io/modelFileError.js';
import { PrecisionError } from '../nn/quantize.js';
import { ConfigError } from '../schema/errors.js';
import { scoreInChunks } from './batcher.js';
import { itemTableOf, rankScores, type ItemTable } from './rank.js';
import { loadSnapshotHead, SnapshotChangedError, type LoadedSnapshot } from './snapshot.js';
import { treatmentScores } from './treatments.js';
import { WeightsReader } from './weightsReader.js';
import type { ScoringData, ScoringJob, ScoringReply, ScoringRequest, ThreadError } from './scoringThread.js';

const port = parentPort!;
const { backend: kind, chunkRows } = workerData as ScoringData;
if (kind === 'reference') setBackend(referenceKernels);
const snapshots = new Map<number, { s: LoadedSnapshot; items?: ItemTable }>();
// Shared: the load reply hands the event loop the same memory, so that it scores small batches itself without a copy.
const reader = new WeightsReader(true);

function buffersOf(scores: readonly Float64Array[]): ArrayBuffer[] {
  return [...new Set(scores.map((p) => p.buffer as ArrayBuffer))];
}

/** Errors a user fixes (their files), told apart so that the event loop reports them as such. */
function threadError(e: unknown): ThreadError {
  const user = [ConfigError, DataFormatError, ModelFileError, PrecisionError].some((C) => e instanceof C);
  return { message: (e as Error).message, user };
}

function score(s: LoadedSnapshot, items: ItemTable | undefined, job: ScoringJob): Float64Array[] | Promise<Float64Array[]> {
  switch (job.kind) {
    case 'predict': {
      const ds = s.fitted.toDataset(job.cols);
      // In steps of chunkRows, as on the event loop (nothing else runs on this thread between them).
      return scoreInChunks(ds.numRows, s.tasks.length, chunkRows, (start, end) => s.score(ds, start, end));
    }
    case 'rank':
      if (items === undefined) throw new Error(`model ${s.version}: no item vectors (the items file could not be read)`);
      return rankScores(s, items, job.cols, job.slices);
    case 'treatments':
      return [treatmentScores(s, job.rows, job.treatments)];
  }
}

async function handle(m: ScoringRequest): Promise<void> {
  if (m.type === 'drop') {
    snapshots.delete(m.key);
    return;
  }
  let reply: ScoringReply;
  let transfer: ArrayBuffer[] = [];
  try {
    switch (m.type) {
      case 'load': {
        const s = loadSnapshotHead(m.dir, m.precision);
        // The directory was republished after the event loop read it: this thread cannot hold that snapshot.
        if (s.version !== m.version) {
          reply = { id: m.id, ok: false, message: `${m.dir}: the directory now holds model ${s.version}, not ${m.version}`, changed: true };
          break;
        }
        // A thread started after a death: the weights the event loop still shares with the dead one, not a second copy.
        if (m.weights !== undefined) s.shareWeights(m.weights);
        await s.loadWeights(reader);
        let items: ItemTable | undefined;
        let itemsReply: NonNullable<Extract<ScoringReply, { ok: true }>['items']> | undefined;
        if (m.items !== undefined) {
          // The model still serves /v1/predict when its item vectors fail; /v1/rank answers 503.
          try {
            items = await itemTableOf(s, m.items);
            itemsReply = { shape: { count: items.count, dim: items.dim } };
          } catch (e) {
            itemsReply = { error: threadError(e) };
          }
        }
        snapshots.set(m.key, { s: s as LoadedSnapshot, ...(items && { items }) });
        // Posted, not transferred: SharedArrayBuffers arrive as the same memory.
        reply = { id: m.id, ok: true, precision: s.precision, weights: s.weights, ...(itemsReply && { items: itemsReply }) };
        break;
      }
      case 'score': {
        const held = snapshots.get(m.key);
        if (held === undefined) throw new Error(`scoring thread: snapshot ${m.key} is not loaded`);
        const scores = await score(held.s, held.items, m.job);
        transfer = buffersOf(scores);
        reply = { id: m.id, ok: true, scores };
        break;
      }
    }
  } catch (e) {
    reply = { id: m.id, ok: false, message: (e as Error).message, changed: e instanceof SnapshotChangedError };
  }
  port.postMessage(reply, transfer);
}

port.on('message', (m: ScoringRequest) => void handle(m));
