/**
 * The on-disk layout of a columnar cache: one directory holding `manifest.json` and one file of
 * raw little-endian int32 / float32 values per column. The manifest is the only file that says
 * what the others mean, and it is written last, so a directory without a valid manifest is never
 * mistaken for a cache.
 */
import { readFileSync } from 'node:fs';

/** Bumped whenever a change to the layout would make an older reader misread a cache. */
export const CACHE_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** JSON-representable values (the caller's schema is stored as given). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type CacheDtype = 'int32' | 'float32';

/** What a column holds, so a reader can rebuild the Dataset without relying on file names. */
export type ColumnRole =
  | { kind: 'ids' }
  | { kind: 'label'; index: number }
  | { kind: 'weights' }
  | { kind: 'dense' }
  | { kind: 'keepProb' }
  | { kind: 'groupOffsets' }
  | { kind: 'seqOffsets'; index: number }
  | { kind: 'seqIds'; index: number };

export interface ColumnEntry {
  role: ColumnRole;
  /** File name inside the cache directory. */
  file: string;
  dtype: CacheDtype;
  /** Row-major shape; the first dimension is rows (or offsets / sequence ids). */
  shape: number[];
  /** Where the column starts in its file (0 with one file per column; kept for other layouts). */
  byteOffset: number;
  byteLength: number;
  /** CRC-32 of the column's bytes, checked when a cache is opened with `verify`. */
  crc32: number;
}

/** One source file as it was when the cache was built. */
export interface SourceFingerprint {
  path: string;
  size: number;
  /** Modification time in nanoseconds (decimal string: it exceeds 2^53). */
  mtimeNs: string;
  sha256: string;
}

export interface CacheManifest {
  formatVersion: number;
  createdBy: string;
  createdAt: string;
  numRows: number;
  numFields: number;
  fieldNames: string[];
  fieldSizes: number[];
  fieldOffsets: number[];
  numIds: number;
  labelNames: string[];
  denseNames?: string[];
  sequenceNames?: string[];
  privileged?: string[];
  negativeSampleRate: number;
  /** The caller's schema, stored as given (opaque to the cache). */
  schema: JsonValue;
  schemaHash: string;
  sourceHash: string;
  sources: SourceFingerprint[];
  columns: ColumnEntry[];
}

/** A cache file that is missing, truncated, or does not hold what the manifest says. */
export class CacheCorruptError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`corrupt cache file ${file}: ${detail}`);
    this.name = 'CacheCorruptError';
  }
}

export const DTYPE_BYTES: Readonly<Record<CacheDtype, number>> = { int32: 4, float32: 4 };

/** File name of a column: derived from its role only, so user-chosen names never reach the file system. */
export function columnFileName(role: ColumnRole): string {
  switch (role.kind) {
    case 'ids': return 'ids.i32';
    case 'label': return `label-${role.index}.f32`;
    case 'weights': return 'weights.f32';
    case 'dense': return 'dense.f32';
    case 'keepProb': return 'keep-prob.f32';
    case 'groupOffsets': return 'group-offsets.i32';
    case 'seqOffsets': return `seq-${role.index}-offsets.i32`;
    case 'seqIds': return `seq-${role.index}-ids.i32`;
  }
}

/** The cache stores the platform's bytes as they are, so it is only correct on little-endian hosts. */
export function assertLittleEndian(): void {
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
    throw new Error('ctrkit cache: big-endian hosts are not supported (columns are raw little-endian)');
  }
}

let version: string | undefined;
/** `ctrkit <version>` from package.json (read at runtime so the version has one source). */
export function ctrkitVersion(): string {
  if (version === undefined) {
    try {
      // dist/src/data/cache/format.js → package.json four levels up.
      const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
      version = `ctrkit ${pkg.version ?? 'unknown'}`;
    } catch {
      version = 'ctrkit unknown';
    }
  }
  return version;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks the manifest's structure; throws CacheCorruptError naming the file. */
export function parseManifest(text: string, file: string): CacheManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new CacheCorruptError(file, `not JSON (${(e as Error).message})`);
  }
  const bad = (what: string): never => {
    throw new CacheCorruptError(file, what);
  };
  if (!isObject(m)) return bad('not an object');
  if (m.formatVersion !== CACHE_FORMAT_VERSION) return bad(`format version ${String(m.formatVersion)}, this ctrkit reads ${CACHE_FORMAT_VERSION}`);
  const isInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  for (const k of ['numRows', 'numFields', 'numIds'] as const) if (!isInt(m[k])) bad(`${k} is not a non-negative integer`);
  for (const k of ['fieldNames', 'fieldSizes', 'fieldOffsets', 'labelNames', 'columns', 'sources'] as const) {
    if (!Array.isArray(m[k])) bad(`${k} is not an array`);
  }
  for (const k of ['schemaHash', 'sourceHash', 'createdBy'] as const) if (typeof m[k] !== 'string') bad(`${k} is not a string`);
  if (typeof m.negativeSampleRate !== 'number') bad('negativeSampleRate is not a number');
  for (const c of m.columns as unknown[]) {
    if (!isObject(c) || !isObject(c.role) || typeof c.file !== 'string' || (c.dtype !== 'int32' && c.dtype !== 'float32')
      || !Array.isArray(c.shape) || !isInt(c.byteOffset) || !isInt(c.byteLength) || !isInt(c.crc32)) {
      bad(`malformed column entry ${JSON.stringify(c)}`);
    }
    const col = c as unknown as ColumnEntry;
    if (col.file.includes('/') || col.file.includes('\\') || col.file.startsWith('.')) bad(`column file name ${JSON.stringify(col.file)}`);
    const elems = col.shape.reduce((a, b) => a * b, 1);
    if (elems * DTYPE_BYTES[col.dtype] !== col.byteLength) bad(`column ${col.file}: shape [${col.shape.join(', ')}] does not match ${col.byteLength} bytes`);
  }
  return m as unknown as CacheManifest;
}
