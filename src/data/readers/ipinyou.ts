import { DataFormatError, show } from './errors.js';
import { LineSource } from './lineSource.js';
import { lineRecordReader, NOT_AN_INT, parseIntRange, type ReaderOptions, type RecordReader } from './reader.js';

/** The featindex file of make-ipinyou-data: which field every feature index belongs to. */
export interface FeatIndex {
  file: string;
  /** Field names in order of first appearance in the file (weekday, hour, useragent, ...). */
  fields: string[];
  /** Feature index (as written, e.g. "131280") -> position in `fields`. */
  fieldOf: Map<string, number>;
}

/**
 * Reads `field:value<TAB>idx` lines. The field is the text before the first ':' (values such as
 * `useragent:windows_ie` contain further colons). A repeated index is an error: it would make the
 * field of that index depend on line order.
 */
export async function readFeatIndex(file: string, options: Pick<ReaderOptions, 'chunkSize'> = {}): Promise<FeatIndex> {
  const src = await LineSource.open(file, options);
  const fields: string[] = [];
  const fieldPos = new Map<string, number>();
  const fieldOf = new Map<string, number>();
  for await (const { lines, firstLine } of src.batches()) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const tab = line.indexOf('\t');
      if (tab === -1 || line.indexOf('\t', tab + 1) !== -1) {
        throw new DataFormatError(file, firstLine + i, undefined, `expected "field:value<TAB>index", got ${show(line)}`);
      }
      const colon = line.indexOf(':');
      if (colon === -1 || colon > tab) {
        throw new DataFormatError(file, firstLine + i, undefined, `expected "field:value" before the tab, got ${show(line.slice(0, tab))}`);
      }
      const name = line.slice(0, colon);
      const idx = line.slice(tab + 1);
      let pos = fieldPos.get(name);
      if (pos === undefined) {
        pos = fields.length;
        fields.push(name);
        fieldPos.set(name, pos);
      }
      if (fieldOf.has(idx)) throw new DataFormatError(file, firstLine + i, 'index', `index ${show(idx)} appears twice`);
      fieldOf.set(idx, pos);
    }
  }
  if (fieldOf.size === 0) throw new DataFormatError(file, undefined, undefined, 'file is empty (no lines)');
  return { file, fields, fieldOf };
}

/** One iPinYou row: the label and, per featindex field, the index string of its one active feature. */
export interface IpinyouRow {
  label: number;
  /** [fields.length]; the feature index text (the token of that field). */
  idx: string[];
}

/**
 * Parses `label idx:1 idx:1 ...` where every featindex field occurs exactly once. The value after
 * ':' is not used (the data are one-hot), only checked to be present.
 */
export function parseIpinyouLine(line: string, index: FeatIndex, file: string, lineNo: number): IpinyouRow {
  const F = index.fields.length;
  const idx = new Array<string>(F);
  let found = 0;
  let start = 0;
  let end = line.indexOf(' ');
  if (end === -1) end = line.length;
  const label = parseIntRange(line, start, end);
  if (label !== 0 && label !== 1) {
    throw new DataFormatError(file, lineNo, 'label', `expected 0 or 1, got ${show(line.slice(start, end))}`);
  }
  start = end + 1;
  while (start < line.length) {
    end = line.indexOf(' ', start);
    if (end === -1) end = line.length;
    if (end > start) {
      const colon = line.indexOf(':', start);
      if (colon === -1 || colon >= end || colon === start
        || parseIntRange(line, start, colon) === NOT_AN_INT || colon + 1 === end) {
        throw new DataFormatError(file, lineNo, undefined, `expected "index:value", got ${show(line.slice(start, end))}`);
      }
      const key = line.slice(start, colon);
      const f = index.fieldOf.get(key);
      if (f === undefined) {
        throw new DataFormatError(file, lineNo, undefined, `feature index ${key} is not in the featindex file`);
      }
      if (idx[f] !== undefined) {
        throw new DataFormatError(file, lineNo, index.fields[f], `two features (${idx[f]} and ${key}); expected one per field`);
      }
      idx[f] = key;
      found++;
    }
    start = end + 1;
  }
  if (found !== F) {
    const missing = index.fields.filter((_, f) => idx[f] === undefined);
    throw new DataFormatError(file, lineNo, missing[0], `no feature for ${missing.length === 1 ? 'this field' : `fields ${missing.join(', ')}`}`);
  }
  return { label, idx };
}

/** Streams an iPinYou `train.fm.txt` style file (plain or gzip) against its featindex. */
export async function openIpinyou(file: string, index: FeatIndex, options: ReaderOptions = {}): Promise<RecordReader<IpinyouRow>> {
  const src = await LineSource.open(file, options);
  return lineRecordReader(src, options, (line, lineNo) => parseIpinyouLine(line, index, file, lineNo));
}
