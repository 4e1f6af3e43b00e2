import { DataFormatError, show } from './errors.js';
import { LineSource } from './lineSource.js';
import { lineRecordReader, NOT_AN_INT, parseIntRange, type ReaderOptions, type RecordReader } from './reader.js';

export const CRITEO_NUM_INTS = 13;
export const CRITEO_NUM_CATS = 26;
export const CRITEO_COLUMNS = 1 + CRITEO_NUM_INTS + CRITEO_NUM_CATS;

/** Column names in file order: label, I1..I13, C1..C26. */
export const CRITEO_COLUMN_NAMES: readonly string[] = [
  'label',
  ...Array.from({ length: CRITEO_NUM_INTS }, (_, i) => `I${i + 1}`),
  ...Array.from({ length: CRITEO_NUM_CATS }, (_, i) => `C${i + 1}`),
];

/** One Criteo DAC row. */
export interface CriteoRow {
  /** 0 or 1. */
  label: number;
  /** I1..I13; NaN = missing (empty column). Negative values occur and are kept. */
  ints: Float64Array;
  /** C1..C26 as the raw text (8 hex digits in the Kaggle file); "" = missing. */
  cats: string[];
}

/**
 * Parses one Criteo line (label, 13 ints, 26 categoricals, TAB-separated). Throws DataFormatError
 * naming the file, line and column. The categoricals are not checked to be hex: they are opaque
 * tokens, and other Criteo dumps (1TB logs, re-hashed copies) use other widths.
 */
export function parseCriteoLine(line: string, file: string, lineNo: number): CriteoRow {
  const ints = new Float64Array(CRITEO_NUM_INTS);
  const cats = new Array<string>(CRITEO_NUM_CATS);
  const label = parseCriteoInto(line, file, lineNo, ints, 0, cats);
  return { label, ints, cats };
}

/**
 * parseCriteoLine writing into caller-owned storage (ints at `intsAt`, cats[0..26)), so that a
 * columnar parser fills its buffers without a row object per line. Returns the label.
 */
export function parseCriteoInto(line: string, file: string, lineNo: number,
  ints: Float64Array, intsAt: number, cats: string[]): number {
  let label = 0;
  let start = 0;
  for (let col = 0; col < CRITEO_COLUMNS; col++) {
    let end = line.indexOf('\t', start);
    if (end === -1) {
      if (col !== CRITEO_COLUMNS - 1) throw columnCountError(line, file, lineNo);
      end = line.length;
    } else if (col === CRITEO_COLUMNS - 1) {
      throw columnCountError(line, file, lineNo);
    }
    if (col === 0) {
      label = parseIntRange(line, start, end);
      if (label !== 0 && label !== 1) {
        throw new DataFormatError(file, lineNo, 'label (column 1)', `expected 0 or 1, got ${show(line.slice(start, end))}`);
      }
    } else if (col <= CRITEO_NUM_INTS) {
      const v = parseIntRange(line, start, end);
      if (v === NOT_AN_INT) {
        throw new DataFormatError(file, lineNo, `I${col} (column ${col + 1})`,
          `expected an integer or empty, got ${show(line.slice(start, end))}`);
      }
      ints[intsAt + col - 1] = v;
    } else {
      cats[col - 1 - CRITEO_NUM_INTS] = line.slice(start, end);
    }
    start = end + 1;
  }
  return label;
}

/**
 * Parses one Criteo line from the chunk's bytes: label and ints into `ints` at `intsAt`, and the
 * byte span of each categorical into `spans` (2 entries per column). Returns the label, or -1 when
 * the line is not well formed; the caller then re-parses it with parseCriteoInto for the error
 * message (used by the parallel chunk parser and the byte row stream). The accepted lines and their values are exactly parseCriteoInto's: tabs, digits and
 * signs are ASCII, so the byte and the decoded-text views split and parse alike.
 */
export function parseCriteoBytes(src: Uint8Array, start: number, end: number, ints: Float64Array, intsAt: number, spans: Int32Array): number {
  let p = start;
  let label = -1;
  for (let col = 0; col < CRITEO_COLUMNS; col++) {
    const s = p;
    if (col <= CRITEO_NUM_INTS) {
      // parseIntRange on bytes: empty = NaN, optional sign, then at least one digit.
      let v = 0;
      let neg = false;
      let digits = 0;
      let b = p < end ? src[p]! : 9;
      if (b === 45 || b === 43) {
        neg = b === 45;
        b = ++p < end ? src[p]! : 9;
      }
      while (b !== 9) {
        const d = b - 48;
        if (d < 0 || d > 9) return -1;
        v = v * 10 + d;
        digits++;
        b = ++p < end ? src[p]! : 9;
      }
      if (digits === 0 && p > s) return -1; // a lone sign
      const value = p === s ? Number.NaN : neg ? -v : v;
      if (col === 0) {
        if (value !== 0 && value !== 1) return -1;
        label = value;
      } else {
        ints[intsAt + col - 1] = value;
      }
    } else {
      while (p < end && src[p] !== 9) p++;
      const j = col - 1 - CRITEO_NUM_INTS;
      spans[2 * j] = s;
      spans[2 * j + 1] = p;
    }
    // p is at a tab or at the end of the line: the last column must end the line, the others a tab.
    if (col === CRITEO_COLUMNS - 1) {
      if (p !== end) return -1;
    } else {
      if (p >= end) return -1;
      p++;
    }
  }
  return label;
}

function columnCountError(line: string, file: string, lineNo: number): DataFormatError {
  let n = 1;
  for (let i = line.indexOf('\t'); i !== -1; i = line.indexOf('\t', i + 1)) n++;
  return new DataFormatError(file, lineNo, undefined,
    `expected ${CRITEO_COLUMNS} tab-separated columns, got ${line.length === 0 ? 'an empty line' : n}`);
}

/** Streams a Criteo DAC TSV file (plain or gzip), e.g. the Kaggle `train.txt`. */
export async function openCriteo(file: string, options: ReaderOptions = {}): Promise<RecordReader<CriteoRow>> {
  const src = await LineSource.open(file, options);
  return lineRecordReader(src, options, (line, lineNo) => parseCriteoLine(line, file, lineNo));
}
