import { fileOrderSplit, type RowRange } from '../data/prep/split.js';
import type { SplitConfig } from './config.js';
import type { StoredColumns } from './store.js';
import { Rng } from '../util/random.js';

/*
 * Split rules. Every mode ends with the rows ordered fit, validation, test, so that the splits are
 * row ranges (cheap subarray views) and the fit rows are a prefix (vocabularies count a prefix).
 * With a group column a split never cuts a group: a list belongs to one split.
 */

export interface DataSplit {
  fit: RowRange;
  validation: RowRange;
  test: RowRange;
}

/** Rows per input file, in the order the files were read (train, then validation, then test file). */
export interface FileRows {
  train: number;
  validation: number;
  test: number;
}

/** The smallest group start >= row (groups never straddle a boundary). */
function snap(row: number, groupOffsets: Int32Array | undefined): number {
  if (groupOffsets === undefined) return row;
  let lo = 0;
  let hi = groupOffsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (groupOffsets[mid]! < row) lo = mid + 1;
    else hi = mid;
  }
  return groupOffsets[lo]!;
}

/** Mode files with `fit: [a, b]`: the end of the first floor(n * a / b) lists (rows without a group) of the source file's `rows`. */
function filesFitEnd(rows: number, [a, b]: readonly [number, number], groupOffsets: Int32Array | undefined): number {
  if (groupOffsets === undefined) return Math.floor((rows * a) / b);
  const starts = groupOffsets.subarray(0, groupOffsets.length - 1);
  const lists = starts.findIndex((s) => s >= rows);
  const n = lists === -1 ? starts.length : lists;
  const k = Math.floor((n * a) / b);
  return k === n ? rows : starts[k]!;
}

/**
 * Computes the split and, for mode random, reorders `cols` in place (fit, validation, test; file order
 * within each). Returns the split's row ranges.
 */
export function applySplit(cfg: SplitConfig, cols: StoredColumns, files: FileRows, numFields: number, numDense: number): DataSplit {
  const n = cols.numRows;
  switch (cfg.mode) {
    case 'file-order': {
      const b = fileOrderSplit(n, { train: cfg.train, fit: cfg.fit });
      const nFit = snap(b.nFit, cols.groupOffsets);
      const nTrain = Math.max(nFit, snap(b.nTrain, cols.groupOffsets));
      return { fit: { start: 0, end: nFit }, validation: { start: nFit, end: nTrain }, test: { start: nTrain, end: n } };
    }
    case 'files': {
      const a = cfg.fit === undefined ? files.train : filesFitEnd(files.train, cfg.fit, cols.groupOffsets);
      const v = files.train + files.validation;
      return { fit: { start: 0, end: a }, validation: { start: a, end: v }, test: { start: v, end: n } };
    }
    case 'random': {
      const units = cols.groupOffsets ?? Int32Array.from({ length: n + 1 }, (_, i) => i);
      const nUnits = units.length - 1;
      const rng = new Rng(cfg.seed);
      const which = new Uint8Array(nUnits);
      for (let u = 0; u < nUnits; u++) {
        const x = rng.uniform();
        which[u] = x < cfg.test ? 2 : x < cfg.test + cfg.validation ? 1 : 0;
      }
      return reorderUnits(cols, units, which, numFields, numDense);
    }
    case 'last':
    case 'time': {
      // The event source gave each row its part; a user's rows in different parts become separate lists.
      const parts = cols.parts;
      if (parts === undefined) throw new Error(`split mode ${cfg.mode}: the source assigned no parts (it needs source format events)`);
      const groups = cols.groupOffsets ?? new Int32Array([0, n]);
      const starts: number[] = [];
      for (let g = 0; g + 1 < groups.length; g++) {
        for (let r = groups[g]!; r < groups[g + 1]!; r++) if (r === groups[g]! || parts[r] !== parts[r - 1]) starts.push(r);
      }
      const units = Int32Array.from([...starts, n]);
      const which = Uint8Array.from(starts, (r) => parts[r]!);
      return reorderUnits(cols, units, which, numFields, numDense);
    }
  }
}

/**
 * Orders the units (row ranges `units[u]..units[u+1]`) by `which[u]` (fit, validation, test), unit
 * order within each, reordering `cols` in place; with a group column the units are the new lists.
 */
function reorderUnits(cols: StoredColumns, units: Int32Array, which: Uint8Array, numFields: number, numDense: number): DataSplit {
  const n = cols.numRows;
  const nUnits = units.length - 1;
  const order = new Int32Array(n);
  const newStarts: number[] = [];
  let p = 0;
  const ends = [0, 0, 0];
  for (let part = 0; part < 3; part++) {
    for (let u = 0; u < nUnits; u++) {
      if (which[u] !== part) continue;
      newStarts.push(p);
      for (let r = units[u]!; r < units[u + 1]!; r++) order[p++] = r;
    }
    ends[part] = p;
  }
  permute(cols, order, numFields, numDense);
  if (cols.groupOffsets !== undefined) cols.groupOffsets = Int32Array.from([...newStarts, n]);
  return {
    fit: { start: 0, end: ends[0]! },
    validation: { start: ends[0]!, end: ends[1]! },
    test: { start: ends[1]!, end: ends[2]! },
  };
}

/** Reorders every per-row column so that new row i is old row order[i]. */
function permute(cols: StoredColumns, order: Int32Array, F: number, D: number): void {
  const n = order.length;
  const rows = <A extends Int32Array | Float32Array | Float64Array>(src: A, width: number): A => {
    const out = new (src.constructor as new (len: number) => A)(n * width);
    for (let i = 0; i < n; i++) out.set(src.subarray(order[i]! * width, (order[i]! + 1) * width), i * width);
    return out;
  };
  cols.codes = rows(cols.codes, F);
  cols.dense = rows(cols.dense, D);
  cols.labels = cols.labels.map((l) => rows(l, 1));
  if (cols.weights !== undefined) cols.weights = rows(cols.weights, 1);
  if (cols.parts !== undefined) cols.parts = rows(cols.parts, 1);
  cols.sequences = cols.sequences.map(({ offsets, codes }) => {
    const o = new Int32Array(n + 1);
    const c = new Int32Array(codes.length);
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      const len = offsets[r + 1]! - offsets[r]!;
      c.set(codes.subarray(offsets[r]!, offsets[r + 1]!), o[i]!);
      o[i + 1] = o[i]! + len;
    }
    return { offsets: o, codes: c };
  });
}
