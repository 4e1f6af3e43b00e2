/**
 * Opens a cache: decides whether it is still valid for what the caller expects, then bulk-loads
 * each column with one read into its own ArrayBuffer and hands out typed-array views of those
 * buffers (no per-row work, no copies).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Dataset, SequenceColumn } from '../dataset.js';
import { assertLittleEndian, CacheCorruptError, MANIFEST_FILE, parseManifest, type CacheManifest, type ColumnEntry } from './format.js';
import { sourceChange } from './hash.js';

/** What the caller expects the cache to have been built from. Omitted hashes are not compared. */
export interface CacheExpectation {
  schemaHash?: string;
  sourceHash?: string;
  /** The source files the cache must have been built from (compared as resolved paths, in order). */
  sources?: readonly string[];
}

export interface OpenCacheOptions {
  /** Check every column's CRC-32 and that every id lies in [0, numIds) (reads all bytes once more). */
  verify?: boolean;
  /** Re-hash source files even when their size and mtime are unchanged. */
  rehashSources?: boolean;
}

export type OpenCacheResult =
  | { status: 'fresh'; dataset: Dataset; manifest: CacheManifest }
  | { status: 'missing' | 'stale'; reason: string };

/** The manifest of the cache at `dir`, or undefined when there is none; throws CacheCorruptError when it is unreadable. */
export function readManifest(dir: string): CacheManifest | undefined {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseManifest(text, file);
}

/** Why the cache described by `m` does not match `expected` or its recorded sources, or undefined when it is fresh. */
export function staleReason(m: CacheManifest, expected: CacheExpectation, rehashSources = false): string | undefined {
  if (expected.schemaHash !== undefined && m.schemaHash !== expected.schemaHash) {
    return `schema hash ${m.schemaHash.slice(0, 12)}… ≠ expected ${expected.schemaHash.slice(0, 12)}…`;
  }
  if (expected.sourceHash !== undefined && m.sourceHash !== expected.sourceHash) {
    return `source hash ${m.sourceHash.slice(0, 12)}… ≠ expected ${expected.sourceHash.slice(0, 12)}…`;
  }
  if (expected.sources !== undefined) {
    const want = expected.sources.map((p) => resolve(p));
    const have = m.sources.map((s) => s.path);
    if (want.length !== have.length || want.some((p, i) => p !== have[i])) return `built from [${have.join(', ')}], expected [${want.join(', ')}]`;
  }
  for (const fp of m.sources) {
    const why = sourceChange(fp, rehashSources);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Reads one column file whole into a fresh ArrayBuffer; the file must be exactly as long as the manifest says. */
export function loadColumnBytes(dir: string, c: ColumnEntry): ArrayBuffer {
  const path = join(dir, c.file);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CacheCorruptError(path, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const want = c.byteOffset + c.byteLength;
    if (size < want) throw new CacheCorruptError(path, `truncated: ${size} bytes, the manifest says ${want}`);
    if (size > want) throw new CacheCorruptError(path, `${size} bytes, longer than the ${want} the manifest says`);
    const buf = new ArrayBuffer(c.byteLength);
    const view = new Uint8Array(buf);
    let off = 0;
    // readSync moves at most ~2 GiB per call, so large columns take a few reads.
    while (off < c.byteLength) {
      const n = readSync(fd, view, off, Math.min(c.byteLength - off, 1 << 30), c.byteOffset + off);
      if (n === 0) throw new CacheCorruptError(path, `truncated while reading at byte ${c.byteOffset + off}`);
      off += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

function checkOffsets(path: string, o: Int32Array, end: number, what: string): void {
  if (o.length === 0 || o[0] !== 0 || o[o.length - 1] !== end) throw new CacheCorruptError(path, `${what} must run from 0 to ${end}`);
  for (let i = 1; i < o.length; i++) if (o[i]! < o[i - 1]!) throw new CacheCorruptError(path, `${what} decrease at entry ${i}`);
}

/** Loads every column of a cache whose manifest is `m` (no staleness check: see openCache). */
export function loadCacheDataset(dir: string, m: CacheManifest, options: OpenCacheOptions = {}): Dataset {
  assertLittleEndian();
  const n = m.numRows;
  const labels: Float32Array[] = new Array<Float32Array>(m.labelNames.length);
  const seqN = m.sequenceNames?.length ?? 0;
  const seqOffsets: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(seqN);
  const seqIds: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(seqN);
  const ds: Dataset = {
    numRows: n,
    numFields: m.numFields,
    fieldNames: m.fieldNames,
    ids: new Int32Array(0),
    fieldSizes: Int32Array.from(m.fieldSizes),
    fieldOffsets: Int32Array.from(m.fieldOffsets),
    numIds: m.numIds,
    labels,
    labelNames: m.labelNames,
    negativeSampleRate: m.negativeSampleRate,
    ...(m.denseNames !== undefined && { denseNames: m.denseNames }),
    ...(m.privileged !== undefined && { privileged: m.privileged }),
  };
  let sawIds = false;
  for (const c of m.columns) {
    const path = join(dir, c.file);
    const buf = loadColumnBytes(dir, c);
    if (options.verify && crc32(new Uint8Array(buf)) !== c.crc32) throw new CacheCorruptError(path, 'CRC-32 mismatch (contents changed since the cache was written)');
    const rows = (width: number): void => {
      if (c.byteLength !== n * width * 4) throw new CacheCorruptError(path, `holds ${c.byteLength / 4} values, expected ${n}×${width}`);
    };
    const r = c.role;
    const indexed = r.kind === 'label' ? labels.length : r.kind === 'seqOffsets' || r.kind === 'seqIds' ? seqN : undefined;
    if (indexed !== undefined && 'index' in r && !(Number.isInteger(r.index) && r.index >= 0 && r.index < indexed)) {
      throw new CacheCorruptError(join(dir, MANIFEST_FILE), `column ${c.file} has index ${r.index} outside [0, ${indexed})`);
    }
    switch (r.kind) {
      case 'ids': rows(m.numFields); ds.ids = new Int32Array(buf); sawIds = true; break;
      case 'label': rows(1); labels[r.index] = new Float32Array(buf); break;
      case 'weights': rows(1); ds.weights = new Float32Array(buf); break;
      case 'dense': rows(m.denseNames?.length ?? 0); ds.dense = new Float32Array(buf); break;
      case 'keepProb': rows(1); ds.keepProb = new Float32Array(buf); break;
      case 'groupOffsets': ds.groupOffsets = new Int32Array(buf); checkOffsets(path, ds.groupOffsets, n, 'group offsets'); break;
      case 'seqOffsets': seqOffsets[r.index] = new Int32Array(buf); break;
      case 'seqIds': seqIds[r.index] = new Int32Array(buf); break;
      default: throw new CacheCorruptError(join(dir, MANIFEST_FILE), `unknown column role ${JSON.stringify(r)}`);
    }
  }
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!sawIds) throw new CacheCorruptError(manifestPath, 'no ids column');
  for (let t = 0; t < labels.length; t++) if (labels[t] === undefined) throw new CacheCorruptError(manifestPath, `no column for label ${t}`);
  if (seqN > 0) {
    const seqs: SequenceColumn[] = [];
    for (let i = 0; i < seqN; i++) {
      const o = seqOffsets[i];
      const ids = seqIds[i];
      if (o === undefined || ids === undefined) throw new CacheCorruptError(manifestPath, `sequence ${i} lacks its offsets or ids column`);
      const entry = m.columns.find((c) => c.role.kind === 'seqOffsets' && c.role.index === i)!;
      if (o.length !== n + 1) throw new CacheCorruptError(join(dir, entry.file), `holds ${o.length} offsets, expected ${n + 1}`);
      checkOffsets(join(dir, entry.file), o, ids.length, 'sequence offsets');
      seqs.push({ name: m.sequenceNames![i]!, offsets: o, ids });
    }
    ds.sequences = seqs;
  }
  if (options.verify) {
    const idsPath = join(dir, m.columns.find((c) => c.role.kind === 'ids')!.file);
    const check = (a: Int32Array, path: string): void => {
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        if (v < 0 || v >= m.numIds) throw new CacheCorruptError(path, `id ${v} at entry ${i} outside [0, ${m.numIds})`);
      }
    };
    check(ds.ids, idsPath);
    ds.sequences?.forEach((s, i) => check(s.ids, join(dir, m.columns.find((c) => c.role.kind === 'seqIds' && c.role.index === i)!.file)));
  }
  return ds;
}

/**
 * Opens the cache at `dir` if it exists and matches `expected` (and its recorded source files are
 * unchanged). Missing or stale caches are reported, not thrown; a cache whose files are damaged
 * throws CacheCorruptError naming the file.
 */
export function openCache(dir: string, expected: CacheExpectation = {}, options: OpenCacheOptions = {}): OpenCacheResult {
  const m = readManifest(dir);
  if (m === undefined) return { status: 'missing', reason: `no cache at ${dir}` };
  const why = staleReason(m, expected, options.rehashSources);
  if (why !== undefined) return { status: 'stale', reason: why };
  return { status: 'fresh', dataset: loadCacheDataset(dir, m, options), manifest: m };
}
