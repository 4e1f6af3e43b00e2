/**
 * The row stream of src/schema/stream.ts, read as bytes: the lines are cut in the read chunks, the
 * columns split on the delimiter byte, hashed ids computed from the bytes (src/schema/hash.ts) and
 * integers parsed from the digits, and every value written straight into the batch's typed arrays —
 * no string per line or field, no row object, no async step per row. Online training spends per
 * line what the epoch loop spends per row before it starts (src/experiment/onlineRun.ts).
 *
 * Same rows, ids, values, errors and counters as the string path, by construction: the bytes are
 * only taken where the two views provably agree (ASCII delimiters and digits, FNV-1a over the UTF-8
 * bytes = fnv1a32 of the decoded text, `Number` on the same text); any line that leaves that ground
 * (a malformed line, a quoted CSV field, a value that is no plain integer where a number is read,
 * non-ASCII text under `trim`) is decoded and goes through the string path's own functions, which
 * then store it or throw its error. Schemas the bytes do not cover (sequences, groups, vocabulary
 * fields, label rules) and formats other than Criteo and CSV are read by the string path whole.
 * Where a schema has labels and hashed fields only, the native addon takes the lines it can
 * (src/schema/nativeLines.ts), many per call, and leaves the others to this file's path.
 */
import type { RawValue } from '../data/prep/field.js';
import { CRITEO_COLUMN_NAMES, CRITEO_NUM_CATS, CRITEO_NUM_INTS, parseCriteoBytes, parseCriteoLine } from '../data/readers/criteo.js';
import { csvHeaderColumns, csvRecordParser, CsvRecordAssembler } from '../data/readers/csv.js';
import { DataFormatError } from '../data/readers/errors.js';
import { describeReadError, openLineBytes } from '../data/readers/lineSource.js';
import { checkNotEmpty, handleBadLine, newStats } from '../data/readers/reader.js';
import { lineEnd } from '../data/readers/textFile.js';
import type { SourceConfig } from './config.js';
import { fittedCoder } from './encodeRows.js';
import type { FittedSchema } from './fitted.js';
import { bucketOfBits, fnv1a32, fnv1a32NumberBits, fnv1a32RangeBits } from './hash.js';
import { nativeLineEncoder } from './nativeLines.js';
import { bucketIndex, log1pClamped } from './numeric.js';
import { newParsedRow, parseIdValue, rawText, rowParser } from './rows.js';
import { listColumns, missingColumn } from './source.js';
import { specColumns, type SchemaSpec } from './spec.js';
import type { RowStream, StreamBatch, StreamOptions } from './stream.js';

/** What a value reader returns for text `Number` rejects (only finite numbers are values; NaN is "missing"). */
const NOT_A_NUMBER = Number.POSITIVE_INFINITY;
const EMPTY_HASH = fnv1a32('') | 0;

/** Whether openByteRowStream reads this schema and source (else the string path does). */
function bytesCover(spec: SchemaSpec, source: SourceConfig, options: StreamOptions): boolean {
  if (source.format !== 'criteo' && source.format !== 'csv') return false;
  if (source.format === 'csv' && !(source.delimiter.length === 1 && source.delimiter.charCodeAt(0) < 0x80 && source.delimiter !== '"' && source.delimiter !== '\n' && source.delimiter !== '\r')) return false;
  return options.vocabularies === undefined && spec.sequences.length === 0 && spec.group === undefined
    && spec.labels.every((l) => l.positive === undefined) && spec.fields.every((f) => f.kind !== 'vocab');
}

/**
 * `Number(text)` of bytes[s, e) as rowParser's toNumber reads it: NaN when empty, NOT_A_NUMBER when
 * not finite. A sign and up to 15 digits (exact in a double, as Number's result) are read from the
 * bytes, "-0" included; anything else is given to Number itself.
 */
function numberAt(buf: Buffer, s: number, e: number): number {
  if (s === e) return Number.NaN;
  let p = s;
  const c0 = buf[p]!;
  const neg = c0 === 45;
  if (neg || c0 === 43) p++;
  if (p < e && e - p <= 15) {
    let v = 0;
    while (p < e) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      p++;
    }
    if (p === e) return neg ? -v : v;
  }
  const x = Number(buf.toString('utf8', s, e));
  return Number.isFinite(x) ? x : NOT_A_NUMBER;
}

/** fnv1a32 (int32 bits) of logBucketValue(v) (src/data/prep/logBucket.ts) without its text. */
function logBucketHashOf(v: number): number {
  if (Number.isNaN(v)) return EMPTY_HASH;
  if (v > 2) {
    const l = Math.log(v);
    return fnv1a32NumberBits(Math.floor(l * l));
  }
  return fnv1a32NumberBits(v);
}

/** logBucketHashOf of the small non-negative integers most counts are, looked up rather than computed. */
const SMALL_LOG_BUCKET_HASH = Int32Array.from({ length: 4096 }, (_, v) => logBucketHashOf(v));

function logBucketHash(v: number): number {
  // -0 is looked up as 0: String(-0) is "0".
  return v >= 0 && v < 4096 && Number.isInteger(v) ? SMALL_LOG_BUCKET_HASH[v]! : logBucketHashOf(v);
}

/** The digit count of bytes[s, e) when it is an integer's text (the log-bucket rule's /^[+-]?\d+$/), else -1. */
function intTextDigits(buf: Buffer, s: number, e: number): number {
  let p = s;
  if (p < e && (buf[p] === 45 || buf[p] === 43)) p++;
  if (p === e) return -1;
  for (let q = p; q < e; q++) {
    const d = buf[q]! - 48;
    if (d < 0 || d > 9) return -1;
  }
  return e - p;
}

/**
 * Opens `file` as openRowStream does, read as bytes, or returns undefined when the bytes do not
 * cover the schema or source (the caller then reads it as text). `file` is resolved already.
 */
export async function openByteRowStream(fitted: FittedSchema, source: SourceConfig, file: string,
  options: StreamOptions): Promise<RowStream | undefined> {
  const { spec } = fitted;
  if (!bytesCover(spec, source, options)) return undefined;
  const requests = specColumns(spec, true);
  const criteo = source.format === 'criteo';
  const critPos = requests.map((r) => CRITEO_COLUMN_NAMES.indexOf(r.column));
  // A column the Criteo format lacks is the string path's error.
  if (criteo && critPos.includes(-1)) return undefined;
  const policy = options.onBadLine ?? 'error';
  const keep = options.keepSkipped ?? 10;
  const after = options.after ?? 0;
  const stats = newStats(file);
  const bytes = await openLineBytes(file, { ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }), ...(options.content === undefined ? {} : { content: options.content }) });
  const it = bytes[Symbol.asyncIterator]();
  // Lines consumed: the count a read error names.
  let lineNo = 0;
  const nextChunk = async (): Promise<Buffer | undefined> => {
    try {
      const r = await it.next();
      return r.done === true ? undefined : r.value;
    } catch (err) {
      throw describeReadError(file, err, lineNo);
    }
  };

  // CSV: the header (as openCsv reads it) and where each requested column is.
  let first: Buffer | undefined;
  let columns: readonly string[] = [];
  const csv = source.format === 'csv' ? source : undefined;
  if (csv !== undefined) {
    if (csv.header) {
      first = await nextChunk();
      if (first === undefined) throw new DataFormatError(file, undefined, undefined, 'file is empty (expected a header line)');
      let nl = first.indexOf(10);
      if (nl === -1) nl = first.length;
      columns = csvHeaderColumns(file, first.toString('utf8', 0, lineEnd(first, 0, nl)), csv);
      stats.lines = 1;
      lineNo = 1;
      first = first.subarray(Math.min(first.length, nl + 1));
    } else {
      if (csv.columns === undefined) throw new Error('openCsv: header: false needs `columns`');
      columns = csv.columns;
    }
  }
  const csvPos = requests.map((r, k) => {
    if (csv === undefined) return -1;
    const i = columns.indexOf(r.column);
    if (i === -1) throw missingColumn(file, requests[k]!, csv.header ? 1 : undefined, listColumns(columns));
    return i;
  });
  const ncol = csv === undefined ? 0 : columns.length;
  const delim = csv === undefined ? 0 : csv.delimiter.charCodeAt(0);
  const trim = csv?.trim === true;
  const recordParser = csv === undefined ? undefined : csvRecordParser(file, columns, { delimiter: csv.delimiter, trim: csv.trim });
  const records = csv === undefined ? undefined : new CsvRecordAssembler(file, csv.delimiter);

  const L = spec.labels.length;
  const F = spec.fields.length;
  const D = spec.dense.length;
  const B = options.batchSize;
  const withWeight = spec.weight !== undefined;
  const weightAt = L + F + D;
  const offsets = fitted.fieldOffsets;
  const sliceField = options.sliceField;

  // The string path, for the lines the bytes leave to it: the stream's own row parser and coder.
  const parse = rowParser(spec, true);
  const row = newParsedRow(spec, true);
  const coder = fittedCoder(fitted);
  const critRow = (text: string, line: number): RawValue[] => {
    const r = parseCriteoLine(text, file, line);
    return critPos.map((i) => (i === 0 ? r.label : i <= CRITEO_NUM_INTS ? r.ints[i - 1]! : r.cats[i - 1 - CRITEO_NUM_INTS]!));
  };

  // The batch being filled, in the columns FittedSchema.toDataset takes: room for `cap` rows, grown
  // while a (large) batch fills.
  const first0 = Math.min(B, 4096);
  let cap = 0;
  let codes = new Int32Array(0);
  let labels: Float32Array[] = [];
  let weights: Float32Array | undefined;
  let dense = new Float64Array(0);
  let lines = new Uint32Array(0);
  let slices: string[] = [];
  let n = 0;
  const room = (rows: number): void => {
    const grow = <A extends Int32Array | Uint32Array | Float32Array | Float64Array>(a: A, b: A, w: number): A => {
      if (n > 0) b.set(a.subarray(0, n * w) as never);
      return b;
    };
    codes = grow(codes, new Int32Array(rows * F), F);
    labels = Array.from({ length: L }, (_, k) => grow(labels[k] ?? new Float32Array(0), new Float32Array(rows), 1));
    weights = withWeight ? grow(weights ?? new Float32Array(0), new Float32Array(rows), 1) : undefined;
    dense = grow(dense, new Float64Array(rows * D), D);
    lines = grow(lines, new Uint32Array(rows), 1);
    cap = rows;
  };
  room(first0);

  /** Row n from the values of the string path; false when the schema refuses them (counted under the policy). */
  const storeValues = (values: RawValue[], line: number): boolean => {
    try {
      parse(values, file, line, row);
    } catch (err) {
      handleBadLine(err, policy, stats, keep);
      stats.rows--;
      return false;
    }
    for (let k = 0; k < L; k++) labels[k]![n] = row.labels[k]!;
    if (weights !== undefined) weights[n] = row.weight;
    for (let j = 0; j < F; j++) codes[n * F + j] = coder.field(j, row);
    for (let d = 0; d < D; d++) dense[n * D + d] = row.dense[d]!;
    if (sliceField !== undefined) slices.push(rawText(row.fieldRaw[sliceField]!));
    return true;
  };

  // Per line of the bytes: the Criteo label and integers (nums[0], nums[1..13]) and the spans of its
  // categoricals, or a CSV line's column spans (2 entries per column).
  const nums = new Float64Array(1 + CRITEO_NUM_INTS);
  const spans = new Int32Array(2 * Math.max(CRITEO_NUM_CATS, ncol));
  // Requested column k: numIdx[k] ≥ 0 where the line parser read it as a number (nums), else its span spanIdx[k].
  const numIdx = Int32Array.from(requests, (_, k) => (criteo && critPos[k]! <= CRITEO_NUM_INTS ? critPos[k]! : -1));
  const spanIdx = Int32Array.from(requests, (_, k) => (criteo ? critPos[k]! - 1 - CRITEO_NUM_INTS : csvPos[k]!));
  const numberOf = (buf: Buffer, k: number): number => {
    const i = numIdx[k]!;
    if (i >= 0) return nums[i]!;
    const c = spanIdx[k]!;
    return numberAt(buf, spans[2 * c]!, spans[2 * c + 1]!);
  };
  // Each id field's rule as numbers, so that the per-value loop reads typed arrays, not spec objects.
  const HASH_TEXT = 0, HASH_TEXT_LOG = 1, HASH_NUM = 2, HASH_NUM_LOG = 3, BUCKETIZE = 4;
  const mode = Int32Array.from(spec.fields, (f, j) => (f.kind === 'bucketize' ? BUCKETIZE
    : (numIdx[L + j]! >= 0 ? HASH_NUM : HASH_TEXT) + (f.kind === 'hash' && f.logBucket === true ? 1 : 0)));
  const buckets = Float64Array.from(spec.fields, (f) => (f.kind === 'hash' ? f.buckets : 1));
  const boundaries = spec.fields.map((f) => (f.kind === 'bucketize' ? f.boundaries : []));
  const denseLog = Uint8Array.from(spec.dense, (d) => (d.transform === 'log' ? 1 : 0));
  const binary = Uint8Array.from(spec.labels, (l) => (l.type === 'binary' ? 1 : 0));
  // Lines of labels and hashed ids only: encoded natively, many in one call (src/schema/nativeLines.ts).
  const native = D === 0 && !withWeight && sliceField === undefined && !trim && !mode.includes(BUCKETIZE)
    ? nativeLineEncoder({
      criteo, delimiter: delim, ncol, labels: L, columnOf: Int32Array.from({ length: L + F }, (_, k) => (criteo ? critPos[k]! : csvPos[k]!)),
      mode, buckets, offsets, binary, smallLog: SMALL_LOG_BUCKET_HASH,
    })
    : undefined;

  /** Row n from the bytes of a line its format's parser accepted; false when a value needs the string path. */
  const storeBytes = (buf: Buffer, line: number): boolean => {
    for (let k = 0; k < L; k++) {
      const x = numberOf(buf, k);
      if (Number.isNaN(x) || x === NOT_A_NUMBER || (binary[k] === 1 && x !== 0 && x !== 1)) return false;
      labels[k]![n] = x;
    }
    const at = n * F;
    for (let j = 0; j < F; j++) {
      const m = mode[j]!;
      const k = L + j;
      let local: number;
      if (m === HASH_TEXT || m === HASH_TEXT_LOG) {
        const c = spanIdx[k]!;
        const s = spans[2 * c]!;
        const e = spans[2 * c + 1]!;
        let h: number;
        if (m === HASH_TEXT) h = fnv1a32RangeBits(buf, s, e);
        else if (s === e) h = EMPTY_HASH;
        else {
          // An integer's text is bucketed from its value (longer ones take BigInt there), other text
          // is read as a number (rows.ts logBucketRaw, src/data/prep/logBucket.ts).
          if (intTextDigits(buf, s, e) > 15) return false;
          const v = numberAt(buf, s, e);
          if (v === NOT_A_NUMBER) return false;
          h = logBucketHash(v);
        }
        local = bucketOfBits(h, buckets[j]!);
      } else if (m === HASH_NUM) {
        const v = nums[numIdx[k]!]!;
        local = bucketOfBits(Number.isNaN(v) ? EMPTY_HASH : fnv1a32NumberBits(v), buckets[j]!);
      } else if (m === HASH_NUM_LOG) {
        local = bucketOfBits(logBucketHash(nums[numIdx[k]!]!), buckets[j]!);
      } else {
        const v = numberOf(buf, k);
        if (v === NOT_A_NUMBER) return false;
        local = bucketIndex(v, boundaries[j]!) + 1;
      }
      codes[at + j] = offsets[j]! + local;
    }
    for (let d = 0; d < D; d++) {
      const x = numberOf(buf, L + F + d);
      if (x === NOT_A_NUMBER) return false;
      dense[n * D + d] = denseLog[d] === 1 ? log1pClamped(x) : x;
    }
    if (weights !== undefined) {
      const w = numberOf(buf, weightAt);
      if (!(w >= 0) || w === NOT_A_NUMBER) return false;
      weights[n] = w;
    }
    if (sliceField !== undefined) {
      const f = spec.fields[sliceField]!;
      const k = L + sliceField;
      const c = spanIdx[k]!;
      // A bucketized field has no raw value in the parsed row (its slice is '' there too).
      const raw: RawValue = numIdx[k]! >= 0 ? nums[numIdx[k]!]! : buf.toString('utf8', spans[2 * c]!, spans[2 * c + 1]!);
      slices.push(f.kind === 'bucketize' ? '' : rawText(parseIdValue(f, raw, file, line)));
    }
    return true;
  };

  /** Splits a CSV line into spans; false when it has a quote, the wrong column count, or (under trim) non-ASCII text. */
  const splitCsv = (buf: Buffer, s: number, e: number): boolean => {
    let c = 0;
    let from = s;
    for (let p = s; p <= e; p++) {
      const b = p < e ? buf[p]! : delim;
      if (b === 34 || (trim && b >= 0x80)) return false;
      if (b !== delim) continue;
      if (c === ncol) return false;
      spans[2 * c] = from;
      spans[2 * c + 1] = p;
      c++;
      from = p + 1;
    }
    if (c !== ncol) return false;
    if (trim) {
      // String.prototype.trim on ASCII text: TAB, LF, VT, FF, CR and space.
      const ws = (b: number): boolean => b === 32 || (b >= 9 && b <= 13);
      for (let k = 0; k < ncol; k++) {
        let a = spans[2 * k]!;
        let z = spans[2 * k + 1]!;
        while (a < z && ws(buf[a]!)) a++;
        while (z > a && ws(buf[z - 1]!)) z--;
        spans[2 * k] = a;
        spans[2 * k + 1] = z;
      }
    }
    return true;
  };

  /** One physical line [s, e) of `buf`, number `line`: stored as row n (then n advances), counted, or skipped. */
  const readLine = (buf: Buffer, s: number, e: number, line: number): void => {
    stats.lines++;
    if (n === cap) room(Math.min(B, 2 * cap));
    if (criteo) {
      const label = parseCriteoBytes(buf, s, e, nums, 1, spans);
      if (label < 0) {
        let values: RawValue[];
        try {
          values = critRow(buf.toString('utf8', s, e), line);
        } catch (err) {
          handleBadLine(err, policy, stats, keep);
          return;
        }
        // Accepted as text after all (cannot happen: the byte parser accepts what the text parser does).
        stats.rows++;
        if (line > after && storeValues(values, line)) lines[n++] = line;
        return;
      }
      nums[0] = label;
      stats.rows++;
      if (line <= after) return;
      if (storeBytes(buf, line) || storeValues(critRow(buf.toString('utf8', s, e), line), line)) lines[n++] = line;
      return;
    }
    if (records!.pending !== undefined || !splitCsv(buf, s, e)) {
      let rec: string[];
      try {
        if (!records!.push(buf.toString('utf8', s, e), line)) return;
        rec = recordParser!(records!.text, records!.line);
      } catch (err) {
        handleBadLine(err, policy, stats, keep);
        return;
      }
      stats.rows++;
      const at = records!.line;
      if (at > after && storeValues(csvPos.map((i) => rec[i]!), at)) lines[n++] = at;
      return;
    }
    stats.rows++;
    if (line <= after) return;
    if (storeBytes(buf, line)) {
      lines[n++] = line;
      return;
    }
    const rec = recordParser!(buf.toString('utf8', s, e), line);
    if (storeValues(csvPos.map((i) => rec[i]!), line)) lines[n++] = line;
  };

  const flush = (): StreamBatch => {
    const cut = <A extends Int32Array | Uint32Array | Float32Array | Float64Array>(a: A, w: number): A => (n === cap ? a : a.slice(0, n * w) as A);
    const b: StreamBatch = {
      dataset: fitted.toDataset({
        numRows: n, codes: cut(codes, F), labels: labels.map((l) => cut(l, 1)), weights: weights && cut(weights, 1), dense: cut(dense, D),
        sequences: [], groupOffsets: undefined,
      }),
      lines: cut(lines, 1),
    };
    if (sliceField !== undefined) b.slices = slices;
    slices = [];
    n = 0;
    room(first0);
    return b;
  };

  async function* batches(): AsyncGenerator<StreamBatch> {
    for (let buf = first ?? await nextChunk(); buf !== undefined; buf = await nextChunk()) {
      const len = buf.length;
      let start = 0;
      while (start < len) {
        if (native !== undefined && lineNo >= after && records?.pending === undefined && n < cap) {
          const r = native.encode(buf, start, len, Math.min(cap, B) - n, codes, labels, n);
          for (let i = 0; i < r.rows; i++) lines[n + i] = lineNo + 1 + i;
          n += r.rows;
          lineNo += r.rows;
          stats.lines += r.rows;
          stats.rows += r.rows;
          start = r.pos;
          if (n === B) {
            yield flush();
            continue;
          }
          // Else the end of the chunk, or the next line is read below: one the encoder leaves to
          // the JavaScript path, or the first past the batch's room, which grows there.
          if (start >= len) break;
        }
        let nl = buf.indexOf(10, start);
        if (nl === -1) nl = len;
        readLine(buf, start, lineEnd(buf, start, nl), ++lineNo);
        start = nl + 1;
        if (n === B) yield flush();
      }
    }
    // The readers' end-of-file checks come before the last short batch, as there.
    if (records !== undefined) {
      const unclosed = records.finish();
      if (unclosed !== undefined) handleBadLine(unclosed, policy, stats, keep);
    }
    checkNotEmpty(stats, {});
    if (csv?.header === true && stats.rows === 0 && stats.skipped === 0) {
      throw new DataFormatError(file, undefined, undefined, 'no data rows after the header');
    }
    if (n > 0) yield flush();
  }
  return { stats, [Symbol.asyncIterator]: batches };
}
