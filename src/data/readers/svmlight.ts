import { DataFormatError, show } from './errors.js';
import { LineSource } from './lineSource.js';
import { lineRecordReader, NOT_AN_INT, parseIntRange, parseNumber, type ReaderOptions, type RecordReader } from './reader.js';

/** One SVMlight / LETOR row: `label [qid:Q] idx:value ... [# comment]`. */
export interface SvmlightRow {
  /** Graded relevance (LETOR 0/1/2), 0/1 or -1/+1 class, or a regression target. */
  label: number;
  /** Query / group id, or undefined when the line has no `qid:`. */
  qid: number | undefined;
  /** Feature indices as written (LETOR counts from 1), strictly increasing. */
  indices: Int32Array;
  values: Float64Array;
  /** Text after `#`, trimmed (LETOR: `docid = ... inc = ... prob = ...`); undefined if none. */
  comment: string | undefined;
}

/** Parses one SVMlight line; throws DataFormatError naming file:line and the offending token. */
export function parseSvmlightLine(line: string, file: string, lineNo: number): SvmlightRow {
  let body = line;
  let comment: string | undefined;
  const hash = line.indexOf('#');
  if (hash !== -1) {
    body = line.slice(0, hash);
    comment = line.slice(hash + 1).trim();
  }
  const toks = body.split(/[ \t]+/);
  let t = 0;
  if (toks[0] === '') t++;
  let last = toks.length;
  if (last > t && toks[last - 1] === '') last--;
  if (t >= last) throw new DataFormatError(file, lineNo, undefined, 'empty line (expected "label [qid:Q] idx:value ...")');
  const label = parseNumber(toks[t]!);
  if (Number.isNaN(label)) throw new DataFormatError(file, lineNo, 'label', `expected a number, got ${show(toks[t]!)}`);
  t++;
  let qid: number | undefined;
  if (t < last && toks[t]!.startsWith('qid:')) {
    const q = toks[t]!;
    qid = parseIntRange(q, 4, q.length);
    if (Number.isNaN(qid) || qid === NOT_AN_INT) {
      throw new DataFormatError(file, lineNo, 'qid', `expected an integer, got ${show(q)}`);
    }
    t++;
  }
  const n = last - t;
  const indices = new Int32Array(n);
  const values = new Float64Array(n);
  let prev = -1;
  for (let k = 0; k < n; k++) {
    const tok = toks[t + k]!;
    const colon = tok.indexOf(':');
    const idx = colon === -1 ? NOT_AN_INT : parseIntRange(tok, 0, colon);
    if (colon === -1 || Number.isNaN(idx) || idx === NOT_AN_INT || idx < 0 || idx > 0x7fffffff) {
      throw new DataFormatError(file, lineNo, `feature ${k + 1}`, `expected "index:value", got ${show(tok)}`);
    }
    const v = parseNumber(tok.slice(colon + 1));
    if (Number.isNaN(v)) {
      throw new DataFormatError(file, lineNo, `feature ${idx}`, `expected a number after ':', got ${show(tok)}`);
    }
    // The SVMlight format requires ascending indices; a violation usually means a garbled line.
    if (idx <= prev) {
      throw new DataFormatError(file, lineNo, `feature ${idx}`, `indices must be strictly increasing (previous ${prev})`);
    }
    prev = idx;
    indices[k] = idx;
    values[k] = v;
  }
  return { label, qid, indices, values, comment };
}

/** Streams an SVMlight / LETOR file (plain or gzip). */
export async function openSvmlight(file: string, options: ReaderOptions = {}): Promise<RecordReader<SvmlightRow>> {
  const src = await LineSource.open(file, options);
  return lineRecordReader(src, options, (line, lineNo) => parseSvmlightLine(line, file, lineNo));
}

/**
 * Group boundaries (Batch.groupOffsets style: groups + 1 entries) of rows whose qids are contiguous.
 * Throws if a qid comes back after another one, since ranking losses would silently split the query.
 */
export function qidGroupOffsets(qids: ArrayLike<number>): Int32Array {
  const offsets: number[] = [0];
  const seen = new Set<number>();
  for (let i = 0; i < qids.length; i++) {
    if (i > 0 && qids[i] === qids[i - 1]) continue;
    if (i > 0) offsets.push(i);
    if (seen.has(qids[i]!)) throw new Error(`qid ${qids[i]} at row ${i} is not contiguous with its earlier rows`);
    seen.add(qids[i]!);
  }
  if (qids.length > 0) offsets.push(qids.length);
  return Int32Array.from(offsets);
}
