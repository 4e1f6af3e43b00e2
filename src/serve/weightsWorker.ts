/**
 * Worker thread of the hot reload (weightsReader.ts): reads a snapshot's weights file, checks its
 * sha256 and decodes it, so that the server's event loop only adopts the finished tensors. It
 * imports no model code (nor the native addon).
 */
import { parentPort } from 'node:worker_threads';
import { ModelFileError } from '../io/modelFileError.js';
import { readVerifiedWeights } from '../io/verifiedWeights.js';
import type { WeightsReply, WeightsRequest } from './weightsReader.js';

parentPort!.on('message', (req: WeightsRequest) => {
  let reply: WeightsReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const tensors = readVerifiedWeights(req.path, req.sha256, { shared: req.shared });
    // A SharedArrayBuffer is shared by posting it; it cannot be (nor need be) transferred.
    if (!req.shared) for (const t of tensors.values()) transfer.push(t.data.buffer as ArrayBuffer);
    reply = { id: req.id, ok: true, tensors };
  } catch (e) {
    reply = { id: req.id, ok: false, message: (e as Error).message, modelFile: e instanceof ModelFileError };
  }
  parentPort!.postMessage(reply, transfer);
});
