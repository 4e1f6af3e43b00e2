/**
 * Rows of an encoded Dataset as the exported graph's inputs (export.ts): local ids per field,
 * sequences padded to the longest in the rows with a 0/1 mask, dense features as they are.
 * Independent of any ONNX runtime: a caller wraps each entry in its runtime's tensor type.
 */
import type { Dataset } from '../../data/dataset.js';
import type { FittedSchema } from '../../schema/fitted.js';

export type OnnxFeed =
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'float32'; data: Float32Array; dims: number[] };

export function onnxFeeds(ds: Dataset, fitted: FittedSchema, start: number, end: number): Record<string, OnnxFeed> {
  const n = end - start;
  const feeds: Record<string, OnnxFeed> = {};
  const F = ds.numFields;
  if (F > 0) {
    const ids = new BigInt64Array(n * F);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < F; j++) ids[r * F + j] = BigInt(ds.ids[(start + r) * F + j]! - ds.fieldOffsets[j]!);
    }
    feeds.ids = { type: 'int64', data: ids, dims: [n, F] };
  }
  (ds.sequences ?? []).forEach((s, q) => {
    const o = s.offsets;
    let L = 1;
    for (let r = start; r < end; r++) L = Math.max(L, o[r + 1]! - o[r]!);
    const ids = new BigInt64Array(n * L);
    const mask = new Float32Array(n * L);
    const offset = fitted.sequenceOffsets[q]!;
    for (let r = 0; r < n; r++) {
      for (let p = o[start + r]!, k = 0; p < o[start + r + 1]!; p++, k++) {
        ids[r * L + k] = BigInt(s.ids[p]! - offset);
        mask[r * L + k] = 1;
      }
    }
    feeds[`seq_${q}_ids`] = { type: 'int64', data: ids, dims: [n, L] };
    feeds[`seq_${q}_mask`] = { type: 'float32', data: mask, dims: [n, L] };
  });
  const D = ds.denseNames?.length ?? 0;
  if (D > 0) feeds.dense = { type: 'float32', data: ds.dense!.slice(start * D, end * D), dims: [n, D] };
  return feeds;
}
