/**
 * Parsing one chunk of whole lines into column buffers. Pure functions of the bytes, run in the
 * workers (and on the main thread when a CSV chunk has to be redone, see parallelCsv). The line
 * parsers are the single-threaded readers' own, so values and error messages are the same.
 */
import { CRITEO_NUM_CATS, CRITEO_NUM_INTS, parseCriteoBytes, parseCriteoInto } from '../readers/criteo.js';
import { csvRecordParser, CsvRecordAssembler } from '../readers/csv.js';
import { DataFormatError } from '../readers/errors.js';
import { parseSvmlightLine } from '../readers/svmlight.js';
import { lineEnd, splitLines } from '../readers/textFile.js';
import { ByteTokenCoder, ChunkTokenCoder } from './chunkTokens.js';
import type {
  ChunkRequest, ChunkResultBase, CriteoChunk, CsvChunk, LocalProblem, ParseSpec, SvmlightChunk, ChunkResult,
} from './protocol.js';

function decode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Bookkeeping shared by the formats: which line each row starts on, and the bad-line policy.
 * Line numbers are chunk-local; `firstLineNo` only makes the thrown messages look right, the
 * main thread rebuilds them from the LocalProblem.
 */
class ChunkLog {
  readonly rowLines: number[] = [];
  readonly examples: LocalProblem[] = [];
  skipped = 0;
  error: LocalProblem | undefined;
  /** Physical lines consumed when parsing stopped at `error` (the reader's stats count up to it). */
  private stoppedAfter = -1;

  constructor(private readonly req: Pick<ChunkRequest, 'skip' | 'keep'>) {}

  /** Records a bad line; false when parsing must stop (policy 'error'). */
  bad(err: unknown, line: number, physical = line): boolean {
    if (!(err instanceof DataFormatError)) throw err;
    const p: LocalProblem = { line, field: err.field, detail: err.detail };
    if (!this.req.skip) {
      this.error = p;
      this.stoppedAfter = physical + 1;
      return false;
    }
    this.skipped++;
    if (this.examples.length < this.req.keep) this.examples.push(p);
    return true;
  }

  base(id: number, lines: number): ChunkResultBase {
    return {
      id, lines: this.stoppedAfter >= 0 ? this.stoppedAfter : lines, rows: this.rowLines.length, rowLines: Int32Array.from(this.rowLines),
      skipped: this.skipped, skippedExamples: this.examples, ...(this.error && { error: this.error }),
    };
  }
}

export function parseCriteoChunk(file: string, req: ChunkRequest): CriteoChunk {
  const bytes = req.bytes;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = buf.length;
  // The lines splitLines would give, cut on the bytes: no trailing empty line.
  let numLines = 0;
  for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, nl + 1)) numLines++;
  if (len > 0 && buf[len - 1] !== 10) numLines++;
  const log = new ChunkLog(req);
  const labels = new Uint8Array(numLines);
  const ints = new Float64Array(numLines * CRITEO_NUM_INTS);
  const coder = new ByteTokenCoder(CRITEO_NUM_CATS, buf, numLines);
  const spans = new Int32Array(2 * CRITEO_NUM_CATS);
  const cats = new Array<string>(CRITEO_NUM_CATS);
  let n = 0;
  let start = 0;
  for (let i = 0; i < numLines; i++) {
    let nl = buf.indexOf(10, start);
    if (nl === -1) nl = len;
    const end = lineEnd(buf, start, nl);
    const lineStart = start;
    start = nl + 1;
    const label = parseCriteoBytes(buf, lineStart, end, ints, n * CRITEO_NUM_INTS, spans);
    if (label < 0) {
      try {
        // Line numbers here are chunk-local (1-based); see ChunkLog.
        parseCriteoInto(buf.toString('utf8', lineStart, end), file, i + 1, ints, n * CRITEO_NUM_INTS, cats);
      } catch (err) {
        if (log.bad(err, i)) continue;
        break;
      }
      throw new Error(`parseCriteoChunk: line ${i + 1} of a chunk was rejected by the byte parser but not by parseCriteoInto`);
    }
    labels[n] = label;
    coder.addSpans(spans);
    log.rowLines.push(i);
    n++;
  }
  return {
    ...log.base(req.id, numLines), kind: 'criteo',
    labels: labels.slice(0, n), ints: ints.slice(0, n * CRITEO_NUM_INTS), cats: coder.finish(),
  };
}

/**
 * `resume` continues a record whose quoted field was left open by the previous chunk (its line is
 * chunk-local to this chunk, i.e. negative or zero-based before it, and fixed up by the caller).
 */
export function parseCsvChunk(spec: Extract<ParseSpec, { kind: 'csv' }>, req: ChunkRequest,
  resume?: { text: string; line: number }): CsvChunk {
  const lines = splitLines(decode(req.bytes));
  const log = new ChunkLog(req);
  const parse = csvRecordParser(spec.file, spec.columns, spec);
  const records = new CsvRecordAssembler(spec.file, spec.delimiter);
  if (resume !== undefined) records.resume(resume.text, resume.line);
  const coder = new ChunkTokenCoder(spec.columns.length, lines.length);
  for (let i = 0; i < lines.length; i++) {
    try {
      if (!records.push(lines[i]!, i)) continue;
      coder.add(parse(records.text, records.line));
    } catch (err) {
      const line = err instanceof DataFormatError && err.line !== undefined ? err.line : i;
      if (log.bad(err, line, i)) continue;
      break;
    }
    log.rowLines.push(records.line);
  }
  const open = log.error === undefined ? records.pending : undefined;
  return { ...log.base(req.id, lines.length), kind: 'csv', values: coder.finish(), ...(open && { open }) };
}

export function parseSvmlightChunk(file: string, req: ChunkRequest): SvmlightChunk {
  const lines = splitLines(decode(req.bytes));
  const log = new ChunkLog(req);
  const labels = new Float64Array(lines.length);
  const qids = new Float64Array(lines.length);
  const offsets = new Int32Array(lines.length + 1);
  let indices = new Int32Array(lines.length * 8);
  let values = new Float64Array(lines.length * 8);
  const comments: (string | undefined)[] = [];
  let n = 0;
  let nnz = 0;
  for (let i = 0; i < lines.length; i++) {
    let row;
    try {
      row = parseSvmlightLine(lines[i]!, file, i);
    } catch (err) {
      if (log.bad(err, i)) continue;
      break;
    }
    const k = row.indices.length;
    if (nnz + k > indices.length) {
      const cap = Math.max(2 * indices.length, nnz + k);
      const i2 = new Int32Array(cap);
      i2.set(indices);
      indices = i2;
      const v2 = new Float64Array(cap);
      v2.set(values);
      values = v2;
    }
    indices.set(row.indices, nnz);
    values.set(row.values, nnz);
    nnz += k;
    labels[n] = row.label;
    qids[n] = row.qid ?? Number.NaN;
    comments.push(row.comment);
    offsets[++n] = nnz;
    log.rowLines.push(i);
  }
  return {
    ...log.base(req.id, lines.length), kind: 'svmlight',
    labels: labels.slice(0, n), qids: qids.slice(0, n), offsets: offsets.slice(0, n + 1),
    indices: indices.slice(0, nnz), values: values.slice(0, nnz), comments,
  };
}

export function parseChunk(spec: ParseSpec, req: ChunkRequest): ChunkResult {
  switch (spec.kind) {
    case 'criteo': return parseCriteoChunk(spec.file, req);
    case 'csv': return parseCsvChunk(spec, req);
    case 'svmlight': return parseSvmlightChunk(spec.file, req);
  }
}

/** The buffers of a result that can be moved to the main thread instead of copied. */
export function transferables(r: ChunkResult): ArrayBuffer[] {
  const bufs: ArrayBufferLike[] = [r.rowLines.buffer];
  if (r.kind === 'criteo') bufs.push(r.labels.buffer, r.ints.buffer, r.cats.codes.buffer, r.cats.offsets.buffer, r.cats.hashes.buffer, r.cats.bytes.buffer);
  else if (r.kind === 'csv') bufs.push(r.values.codes.buffer);
  else bufs.push(r.labels.buffer, r.qids.buffer, r.offsets.buffer, r.indices.buffer, r.values.buffer);
  return bufs.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}
