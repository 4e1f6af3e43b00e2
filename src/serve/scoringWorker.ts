/**
 * The scoring thread (scoringThread.ts): holds its own copy of each served snapshot, loaded from
 * the model directory as the event loop loaded it (reading and hashing the weights on a worker of
 * its own, so that loading a new snapshot pauses the scoring of the current one only briefly),
 * and scores the batches it is sent with the very function behind `ctrkit predict`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { referenceKernels, setBackend } from '../backend/index.js';
import { loadSnapshotOffLoop, type ModelSnapshot } from './snapshot.js';
import { WeightsReader } from './weightsReader.js';
import type { ScoringData, ScoringReply, ScoringRequest } from './scoringThread.js';

const port = parentPort!;
const { backend: kind, chunkRows } = workerData as ScoringData;
if (kind === 'reference') setBackend(referenceKernels);
const snapshots = new Map<number, ModelSnapshot>();
const reader = new WeightsReader();

function buffersOf(scores: readonly Float64Array[]): ArrayBuffer[] {
  return scores.map((p) => p.buffer as ArrayBuffer);
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
        const s = await loadSnapshotOffLoop(m.dir, reader, m.precision);
        // The directory was republished after the event loop read it: this thread cannot hold that snapshot.
        if (s.version !== m.version) {
          reply = { id: m.id, ok: false, message: `${m.dir}: the directory now holds model ${s.version}, not ${m.version}`, changed: true };
          break;
        }
        snapshots.set(m.key, s);
        reply = { id: m.id, ok: true };
        break;
      }
      case 'score': {
        const s = snapshots.get(m.key);
        if (s === undefined) throw new Error(`scoring thread: snapshot ${m.key} is not loaded`);
        const ds = s.loaded.fitted.toDataset(m.cols);
        const n = ds.numRows;
        // In steps of chunkRows, as on the event loop: a few recurring batch shapes, which the
        // kernels' size-keyed scratch and the JIT settle on (a new shape per batch cost int8 2-3×).
        const scores = s.tasks.map(() => new Float64Array(n));
        for (let start = 0; start < n; start += chunkRows) {
          const end = Math.min(n, start + chunkRows);
          s.score(ds, start, end).forEach((p, t) => scores[t]!.set(p, start));
        }
        transfer = buffersOf(scores);
        reply = { id: m.id, ok: true, scores };
        break;
      }
    }
  } catch (e) {
    reply = { id: m.id, ok: false, message: (e as Error).message, changed: false };
  }
  port.postMessage(reply, transfer);
}

port.on('message', (m: ScoringRequest) => void handle(m));
