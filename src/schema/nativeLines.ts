/**
 * The native line encoder (native/lines.cc) for the byte row stream (src/schema/streamBytes.ts):
 * the lines of a chunk whose labels and hashed ids it can prove equal to the JavaScript path's, in
 * one call. The stream reads every other line (and everything when the addon is not built) as
 * before, so the two together give the same batches, counters and errors as either alone.
 */
import { loadNativeAddon } from '../util/nativeAddon.js';

/** At most this many columns a line and labels + fields (native/lines.cc's kMaxColumns), 64 labels. */
const MAX_COLUMNS = 1024;
const MAX_LABELS = 64;

type EncodeLinesFn = (buf: Uint8Array, start: number, end: number, maxRows: number, layout: Int32Array, colOf: Int32Array,
  mode: Int32Array, buckets: Float64Array, offsets: Int32Array, binary: Uint8Array, smallLog: Int32Array,
  codes: Int32Array, labels: Float32Array[], row: number, out: Float64Array) => number;

export interface LineLayout {
  /** Criteo's 40 columns, or CSV lines of `ncol` columns split on `delimiter` (no trim). */
  criteo: boolean;
  delimiter: number;
  ncol: number;
  labels: number;
  /** The line column of each label, then of each field. */
  columnOf: Int32Array;
  /** Each field's rule: 0 hashed text, 1 log bucket of text, 2 hashed Criteo integer, 3 log bucket of a Criteo integer. */
  mode: Int32Array;
  buckets: Float64Array;
  offsets: Int32Array;
  binary: Uint8Array;
  /** logBucketHash of 0..4095, as the JavaScript path computes it. */
  smallLog: Int32Array;
}

export interface LineEncoder {
  /**
   * Encodes the lines of buf[start, end) into rows row, row + 1, … of `codes` and `labels` until
   * maxRows rows, the end, or a line it leaves to the caller: the rows encoded and the byte
   * position reached (the end, or the start of the next line).
   */
  encode(buf: Uint8Array, start: number, end: number, maxRows: number, codes: Int32Array, labels: Float32Array[], row: number): { rows: number; pos: number };
}

let encoded = 0;

/** Rows the native encoder has encoded in this thread (for tests: that it was used). */
export function nativeLinesEncoded(): number {
  return encoded;
}

/** An encoder for `layout`, or undefined when the addon is not built or the layout is beyond it. */
export function nativeLineEncoder(layout: LineLayout): LineEncoder | undefined {
  const fn = loadNativeAddon().addon?.encodeLines as EncodeLinesFn | undefined;
  const F = layout.mode.length;
  if (fn === undefined || layout.ncol > MAX_COLUMNS || layout.labels + F > MAX_COLUMNS || layout.labels > MAX_LABELS) return undefined;
  const meta = Int32Array.of(layout.criteo ? 1 : 0, layout.delimiter, layout.ncol, layout.labels, F);
  const out = new Float64Array(1);
  return {
    encode(buf, start, end, maxRows, codes, labels, row) {
      const rows = fn(buf, start, end, maxRows, meta, layout.columnOf, layout.mode, layout.buckets, layout.offsets, layout.binary,
        layout.smallLog, codes, labels, row, out);
      encoded += rows;
      return { rows, pos: out[0]! };
    },
  };
}
