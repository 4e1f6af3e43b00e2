import { DataFormatError, show } from '../data/readers/errors.js';
import type { ParsedRow } from './rows.js';

/*
 * Growable columnar storage for parsed rows: 4 bytes per id and per label, 8 per dense value
 * (kept in float64 until the fit statistics are known, so that a file encoded later with the
 * fitted schema gets bit-identical float32 values).
 */

type TypedArray = Int32Array | Float32Array | Float64Array;

/** A typed array that doubles its capacity as values are appended. */
export class Growable<A extends TypedArray> {
  private buf: A;
  length = 0;

  constructor(private readonly make: (n: number) => A, capacity = 1024) {
    this.buf = make(capacity);
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }

  private grow(min: number): void {
    const next = this.make(Math.max(min, this.buf.length * 2));
    next.set(this.buf as never);
    this.buf = next;
  }

  /** The values, trimmed (shares memory when the buffer is exactly full). */
  take(): A {
    return (this.length === this.buf.length ? this.buf : this.buf.slice(0, this.length)) as A;
  }
}

export interface StoredColumns {
  numRows: number;
  /** Row-major [numRows * numFields] codes (provisional vocabulary codes or final ids, see the caller). */
  codes: Int32Array;
  labels: Float32Array[];
  weights: Float32Array | undefined;
  /** Row-major [numRows * numDense], before standardisation, NaN = missing. */
  dense: Float64Array;
  sequences: { offsets: Int32Array; codes: Int32Array }[];
  /** Group starts + numRows (numGroups + 1 entries), undefined without a group column. */
  groupOffsets: Int32Array | undefined;
  /** Per row, the split part its source assigned (0 fit, 1 validation, 2 test); only for sources that split themselves. */
  parts?: Int32Array | undefined;
}

export class RowStore {
  private readonly codes = new Growable((n) => new Int32Array(n));
  private readonly labels: Growable<Float32Array>[];
  private readonly weights: Growable<Float32Array> | undefined;
  private readonly dense = new Growable((n) => new Float64Array(n));
  private readonly seqOffsets: Growable<Int32Array>[];
  private readonly seqCodes: Growable<Int32Array>[];
  private readonly groupStarts: Growable<Int32Array> | undefined;
  private readonly parts: Growable<Int32Array> | undefined;
  private lastGroup: string | undefined;
  private groupLines = new Map<string, number>();
  numRows = 0;

  constructor(numLabels: number, numSeq: number, withWeights: boolean, private readonly groupColumn: string | undefined,
    withParts = false) {
    this.parts = withParts ? new Growable((n) => new Int32Array(n)) : undefined;
    this.labels = Array.from({ length: numLabels }, () => new Growable((n) => new Float32Array(n)));
    this.weights = withWeights ? new Growable((n) => new Float32Array(n)) : undefined;
    this.seqOffsets = Array.from({ length: numSeq }, () => {
      const g = new Growable((n) => new Int32Array(n));
      g.push(0);
      return g;
    });
    this.seqCodes = Array.from({ length: numSeq }, () => new Growable((n) => new Int32Array(n)));
    this.groupStarts = groupColumn === undefined ? undefined : new Growable((n) => new Int32Array(n));
  }

  /** Group keys may repeat across files (each file is its own set of lists). */
  startFile(): void {
    this.lastGroup = undefined;
    this.groupLines.clear();
  }

  /**
   * Appends a parsed row; `fieldCode(j)` and `seqCode(q, token)` give what is stored for id field j and
   * the tokens of sequence q, `part` its split part (kept when the store records parts). Throws when
   * the row's group was seen before, separated by other groups.
   */
  push(row: ParsedRow, file: string, line: number, fieldCode: (j: number) => number, numFields: number,
    seqCode: (q: number, token: string) => number, part = 0): void {
    if (this.groupStarts !== undefined) {
      const g = row.group!;
      if (g !== this.lastGroup) {
        const first = this.groupLines.get(g);
        if (first !== undefined) {
          throw new DataFormatError(file, line, this.groupColumn,
            `group ${show(g)} reappears after other groups (its rows start on line ${first}); the rows of a group must be contiguous (sort the file by ${this.groupColumn})`);
        }
        this.groupLines.set(g, line);
        this.lastGroup = g;
        this.groupStarts.push(this.numRows);
      }
    }
    for (let k = 0; k < this.labels.length; k++) this.labels[k]!.push(row.labels[k]!);
    this.weights?.push(row.weight);
    this.parts?.push(part);
    for (let j = 0; j < numFields; j++) this.codes.push(fieldCode(j));
    for (let d = 0; d < row.dense.length; d++) this.dense.push(row.dense[d]!);
    for (let q = 0; q < this.seqCodes.length; q++) {
      const toks = row.tokens[q]!;
      const out = this.seqCodes[q]!;
      for (const t of toks) out.push(seqCode(q, t));
      this.seqOffsets[q]!.push(out.length);
    }
    this.numRows++;
  }

  take(): StoredColumns {
    let groupOffsets: Int32Array | undefined;
    if (this.groupStarts !== undefined) {
      this.groupStarts.push(this.numRows);
      groupOffsets = this.groupStarts.take();
      if (this.numRows === 0) groupOffsets = new Int32Array([0]);
    }
    return {
      numRows: this.numRows,
      codes: this.codes.take(),
      labels: this.labels.map((l) => l.take()),
      weights: this.weights?.take(),
      dense: this.dense.take(),
      sequences: this.seqCodes.map((c, q) => ({ offsets: this.seqOffsets[q]!.take(), codes: c.take() })),
      groupOffsets,
      ...(this.parts === undefined ? {} : { parts: this.parts.take() }),
    };
  }
}

/**
 * Blocks of stored rows (without labels, weights, groups or parts) one after another, as if their
 * rows had been pushed into one store: the server encodes each request on its own and batches
 * requests by concatenating their blocks.
 */
export function concatColumns(blocks: readonly StoredColumns[]): StoredColumns {
  if (blocks.length === 1) return blocks[0]!;
  let rows = 0;
  let codes = 0;
  let dense = 0;
  for (const b of blocks) {
    rows += b.numRows;
    codes += b.codes.length;
    dense += b.dense.length;
  }
  const out: StoredColumns = {
    numRows: rows, codes: new Int32Array(codes), labels: [], weights: undefined, dense: new Float64Array(dense),
    sequences: [], groupOffsets: undefined,
  };
  let c = 0;
  let d = 0;
  for (const b of blocks) {
    out.codes.set(b.codes, c);
    out.dense.set(b.dense, d);
    c += b.codes.length;
    d += b.dense.length;
  }
  const S = blocks[0]?.sequences.length ?? 0;
  for (let q = 0; q < S; q++) {
    const offsets = new Int32Array(rows + 1);
    let ids = 0;
    for (const b of blocks) ids += b.sequences[q]!.codes.length;
    const seqCodes = new Int32Array(ids);
    let r = 0;
    let base = 0;
    for (const b of blocks) {
      const s = b.sequences[q]!;
      for (let i = 1; i <= b.numRows; i++) offsets[r + i] = base + s.offsets[i]!;
      seqCodes.set(s.codes, base);
      r += b.numRows;
      base += s.codes.length;
    }
    out.sequences.push({ offsets, codes: seqCodes });
  }
  return out;
}
