/**
 * A row subset of a Dataset, as a new Dataset with every column restricted to the kept rows.
 * Shared by the samplers, which differ only in which rows they keep and how they weight them.
 */
import type { Dataset } from '../dataset.js';

/** `keep`: ascending row indices. Groups keep their kept rows; groups left empty disappear. */
export function selectRows(ds: Dataset, keep: Int32Array): Dataset {
  const n = keep.length;
  const F = ds.numFields;
  for (let k = 1; k < n; k++) if (keep[k]! <= keep[k - 1]!) throw new Error('selectRows: row indices must be strictly ascending');
  if (n > 0 && (keep[0]! < 0 || keep[n - 1]! >= ds.numRows)) throw new RangeError(`selectRows: rows outside [0, ${ds.numRows})`);
  const ids = new Int32Array(n * F);
  for (let k = 0; k < n; k++) {
    const r = keep[k]!;
    ids.set(ds.ids.subarray(r * F, r * F + F), k * F);
  }
  const pick = (a: Float32Array): Float32Array => {
    const out = new Float32Array(n);
    for (let k = 0; k < n; k++) out[k] = a[keep[k]!]!;
    return out;
  };
  const out: Dataset = { ...ds, numRows: n, ids, labels: ds.labels.map(pick) };
  if (ds.weights) out.weights = pick(ds.weights);
  if (ds.keepProb) out.keepProb = pick(ds.keepProb);
  if (ds.teacherLogits) out.teacherLogits = pick(ds.teacherLogits);
  const D = ds.denseNames?.length ?? 0;
  if (ds.dense && D > 0) {
    const dense = new Float32Array(n * D);
    for (let k = 0; k < n; k++) dense.set(ds.dense.subarray(keep[k]! * D, keep[k]! * D + D), k * D);
    out.dense = dense;
  }
  if (ds.sequences) {
    out.sequences = ds.sequences.map((s) => {
      const offsets = new Int32Array(n + 1);
      for (let k = 0; k < n; k++) offsets[k + 1] = offsets[k]! + s.offsets[keep[k]! + 1]! - s.offsets[keep[k]!]!;
      const sids = new Int32Array(offsets[n]!);
      for (let k = 0; k < n; k++) sids.set(s.ids.subarray(s.offsets[keep[k]!]!, s.offsets[keep[k]! + 1]!), offsets[k]!);
      return { name: s.name, offsets, ids: sids };
    });
  }
  if (ds.groupOffsets) {
    const g = ds.groupOffsets;
    const go: number[] = [0];
    let k = 0;
    for (let grp = 0; grp + 1 < g.length; grp++) {
      const before = k;
      while (k < n && keep[k]! < g[grp + 1]!) k++;
      if (k > before) go.push(k);
    }
    out.groupOffsets = Int32Array.from(go);
  }
  return out;
}
