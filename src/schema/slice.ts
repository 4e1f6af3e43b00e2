import type { Dataset } from '../data/dataset.js';
import type { RowRange } from '../data/prep/split.js';

/**
 * Rows [start, end) of a dataset as a Dataset sharing memory with it (subarray views), e.g. one
 * split of buildDataset. Groups are kept when the range falls on group boundaries (the splits do).
 */
export function sliceRows(ds: Dataset, range: RowRange): Dataset {
  const { start, end } = range;
  if (start < 0 || end > ds.numRows || start > end) throw new RangeError(`sliceRows: [${start}, ${end}) outside [0, ${ds.numRows})`);
  const F = ds.numFields;
  const out: Dataset = {
    ...ds,
    numRows: end - start,
    ids: ds.ids.subarray(start * F, end * F),
    labels: ds.labels.map((l) => l.subarray(start, end)),
  };
  if (ds.weights !== undefined) out.weights = ds.weights.subarray(start, end);
  if (ds.teacherLogits !== undefined) out.teacherLogits = ds.teacherLogits.subarray(start, end);
  if (ds.keepProb !== undefined) out.keepProb = ds.keepProb.subarray(start, end);
  if (ds.dense !== undefined) {
    const D = ds.denseNames?.length ?? 0;
    out.dense = ds.dense.subarray(start * D, end * D);
  }
  if (ds.sequences !== undefined) {
    // Offsets must restart at 0 for the slice, so they are copied; ids stay views.
    out.sequences = ds.sequences.map((s) => {
      const base = s.offsets[start]!;
      return { name: s.name, offsets: s.offsets.slice(start, end + 1).map((o) => o - base), ids: s.ids.subarray(base, s.offsets[end]!) };
    });
  }
  if (ds.groupOffsets !== undefined) {
    const g = ds.groupOffsets;
    const inside = Array.from(g).filter((o) => o >= start && o <= end);
    if (inside[0] !== start || inside[inside.length - 1] !== end) {
      throw new RangeError(`sliceRows: [${start}, ${end}) cuts a group`);
    }
    out.groupOffsets = Int32Array.from(inside, (o) => o - start);
  }
  return out;
}
