/**
 * A small model saved without training, over a hand-written schema with every kind of input (a
 * hashed id, a vocabulary, a bucketized number, a standardised dense value, a token sequence):
 * for the tests that need a model directory but not a trained one; and helpers the serve tests share.
 */
import { FittedSchema, type SchemaSpec } from '../../src/schema/index.js';
import { createModel, parseModelConfig } from '../../src/models/registry.js';
import { saveModel, type JsonValue } from '../../src/io/modelFile.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ScoringThread } from '../../src/serve/scoringThread.js';
import type { CtrkitServer } from '../../src/serve/server.js';

export const TINY_SPEC: SchemaSpec = {
  labels: [{ name: 'click', column: 'click', type: 'binary' }],
  fields: [
    { name: 'user', column: 'user', privileged: false, kind: 'hash', buckets: 50 },
    { name: 'city', column: 'city', privileged: false, kind: 'vocab', logBucket: false, minCount: 1, vocabulary: ['paris', 'rome', 'oslo'] },
    { name: 'price', column: 'price', privileged: false, kind: 'bucketize', boundaries: [1, 10, 100] },
  ],
  dense: [{ name: 'x', column: 'x', privileged: false, transform: 'standardize', mean: 1, std: 2 }],
  sequences: [{ name: 'items', column: 'items', privileged: false, separator: '|', maxLength: 3, kind: 'vocab', minCount: 1, vocabulary: ['a', 'b', 'c'] }],
};

/** Saves the tiny model (weights drawn from `seed`) as model directory `dir`. */
export function saveTinyModel(dir: string, seed: number): void {
  const fitted = new FittedSchema(TINY_SPEC);
  const modelConfig = parseModelConfig({ type: 'dnn', dim: 4, hidden: [8], initStd: 0.5 }, 'tiny model');
  const dims = { numIds: fitted.numIds, numFields: 3, denseDim: 1, numSequences: 1 };
  const model = createModel(modelConfig, dims, seed);
  const source = { format: 'csv', path: 'tiny.csv', header: true, delimiter: ',', trim: false };
  saveModel(dir, {
    model, modelConfig, dims, schema: { fitted: fitted.toJSON(), source } as unknown as JsonValue,
    metrics: {}, provenance: { dataHash: 'sha256:tiny', seed },
  });
}

/** A row of raw values for the tiny schema. */
export function tinyRow(i: number): Record<string, string | number | string[] | null> {
  return { user: `u${i}`, city: ['paris', 'rome', 'oslo', 'lima'][i % 4]!, price: (i * 7) % 150, x: i / 10 - 1, items: ['a', 'b', 'c', 'zz'].slice(0, i % 5) };
}

/** Predict batches the server scored on its scoring thread and on the event loop (ctrkit_serve_batches_total). */
export async function batchesScored(server: CtrkitServer): Promise<{ thread: number; event_loop: number }> {
  const out = { thread: 0, event_loop: 0 };
  for (const v of (await server.metrics.batches.get()).values) out[v.labels.scorer as keyof typeof out] += v.value;
  return out;
}

/**
 * Sends requests until one is in the scoring thread when the thread is stopped, and returns the
 * first answer `answered` rejects (undefined after `maxRestarts` stops without one). A request the
 * thread answered before it was seen busy (a fast CPU scores it within one turn of the event loop)
 * is sent again without a stop: waiting for `busy` alone would wait forever.
 */
export async function answerOfThreadDeath<R>(scoring: ScoringThread, send: () => Promise<R>, answered: (r: R) => boolean, maxRestarts: number): Promise<R | undefined> {
  let restarts = 0;
  for (let sent = 0; restarts < maxRestarts; sent++) {
    if (sent === 1000) throw new Error('1,000 requests were answered before the scoring thread was seen busy');
    let settled = false;
    const pending = send().finally(() => { settled = true; });
    while (scoring.busy === 0 && !settled) await nextTurn();
    if (scoring.busy === 0) { await pending; continue; }
    await scoring.restart();
    restarts++;
    const r = await pending;
    if (!answered(r)) return r;
  }
  return undefined;
}
