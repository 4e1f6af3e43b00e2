/** Worker entry: parses chunks for one file (the ParseSpec in workerData) until terminated. */
import { parentPort, workerData } from 'node:worker_threads';
import { parseChunk, transferables } from './chunkParsers.js';
import type { ChunkRequest, ParseSpec, WorkerReply } from './protocol.js';

const spec = workerData as ParseSpec;
const port = parentPort!;
port.on('message', (req: ChunkRequest) => {
  let reply: WorkerReply;
  try {
    const result = parseChunk(spec, req);
    reply = { ok: true, result };
    port.postMessage(reply, transferables(result));
  } catch (err) {
    reply = { ok: false, id: req.id, message: err instanceof Error ? err.stack ?? err.message : String(err) };
    port.postMessage(reply);
  }
});
