/**
 * Writes a cache atomically: everything goes to a temporary directory next to the target (same
 * file system, so the final rename is atomic), each file is fsynced, the manifest is written
 * last, and only then is the directory renamed into place. A crash at any point leaves either
 * the previous cache, or no cache, plus a temporary directory that the next writer removes;
 * never a directory at the target path with a manifest that describes missing data.
 *
 * Rows can be appended in chunks, so a producer (the synthetic generator, a streaming encoder)
 * never needs the whole dataset in memory.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Dataset } from '../dataset.js';
import {
  assertLittleEndian, CACHE_FORMAT_VERSION, columnFileName, ctrkitVersion, MANIFEST_FILE,
  type CacheDtype, type CacheManifest, type ColumnEntry, type ColumnRole, type JsonValue, type SourceFingerprint,
} from './format.js';
import { combineSourceHashes, fingerprintSource, hashSchema } from './hash.js';

/** What the cache is keyed on; stored in the manifest and compared by openCache. */
export interface CacheIdentity {
  /** The caller's schema (field specs, reader options ...): opaque, stored as given. */
  schema?: JsonValue;
  /** Default: hashSchema(schema). */
  schemaHash?: string;
  /** Source files to fingerprint (size, mtime, content hash) so that changes to them are detected. */
  sources?: readonly string[];
  /** Default: the combined content hash of `sources` ("" without sources). */
  sourceHash?: string;
}

interface OpenColumn {
  entry: ColumnEntry;
  fd: number;
  /** Elements written so far (first dimension of the shape is derived from it at commit). */
  elems: number;
  width: number;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

function bytesOf(a: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporary / retired directories of `target` left by writers that crashed (their process is gone). */
export function removeLeftovers(target: string): void {
  const parent = dirname(resolve(target));
  const prefix = `${basename(resolve(target))}.`;
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(?:tmp|old)-(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (m && !pidAlive(Number(m[1]))) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

export class CacheWriter {
  readonly target: string;
  readonly tempDir: string;
  private readonly identity: Required<Omit<CacheIdentity, 'sources'>> & { sources: SourceFingerprint[] };
  private columns: OpenColumn[] | undefined;
  private layout: Omit<CacheManifest, 'formatVersion' | 'createdBy' | 'createdAt' | 'numRows' | 'columns' | 'schema'
    | 'schemaHash' | 'sourceHash' | 'sources'> | undefined;
  private numRows = 0;
  private numGroups = 0;
  private seqIdsWritten: number[] = [];
  private done = false;

  /**
   * Starts a cache at `target` (a directory). Sources are fingerprinted now, before any row is
   * read: a source modified while the cache is being built then no longer matches, and the cache
   * is rebuilt on the next open rather than trusted.
   */
  constructor(target: string, identity: CacheIdentity = {}) {
    assertLittleEndian();
    this.target = resolve(target);
    const sources = (identity.sources ?? []).map(fingerprintSource);
    const schema = identity.schema ?? null;
    this.identity = {
      schema,
      schemaHash: identity.schemaHash ?? hashSchema(schema),
      sources,
      sourceHash: identity.sourceHash ?? (sources.length > 0 ? combineSourceHashes(sources) : ''),
    };
    mkdirSync(dirname(this.target), { recursive: true });
    removeLeftovers(this.target);
    this.tempDir = `${this.target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    mkdirSync(this.tempDir);
  }

  /**
   * Replaces the schema stored in the manifest, keeping the schemaHash it is keyed on: what a
   * builder learns from the data (vocabularies, the split) is only known after the rows are read,
   * while the key must be known before.
   */
  setSchema(schema: JsonValue): void {
    if (this.done) throw new Error('CacheWriter: already committed or aborted');
    this.identity.schema = schema;
  }

  private open(role: ColumnRole, dtype: CacheDtype, width: number): OpenColumn {
    const file = columnFileName(role);
    const fd = openSync(join(this.tempDir, file), 'w');
    return { entry: { role, file, dtype, shape: [], byteOffset: 0, byteLength: 0, crc32: 0 }, fd, elems: 0, width };
  }

  private start(ds: Dataset): void {
    const D = ds.denseNames?.length ?? 0;
    this.layout = {
      numFields: ds.numFields,
      fieldNames: [...ds.fieldNames],
      fieldSizes: Array.from(ds.fieldSizes),
      fieldOffsets: Array.from(ds.fieldOffsets),
      numIds: ds.numIds,
      labelNames: [...ds.labelNames],
      ...(ds.denseNames !== undefined && { denseNames: [...ds.denseNames] }),
      ...(ds.sequences !== undefined && { sequenceNames: ds.sequences.map((s) => s.name) }),
      ...(ds.privileged !== undefined && { privileged: [...ds.privileged] }),
      negativeSampleRate: ds.negativeSampleRate ?? 1,
    };
    const cols: OpenColumn[] = [this.open({ kind: 'ids' }, 'int32', ds.numFields)];
    ds.labels.forEach((_, i) => cols.push(this.open({ kind: 'label', index: i }, 'float32', 1)));
    if (ds.weights) cols.push(this.open({ kind: 'weights' }, 'float32', 1));
    if (ds.dense && D > 0) cols.push(this.open({ kind: 'dense' }, 'float32', D));
    if (ds.keepProb) cols.push(this.open({ kind: 'keepProb' }, 'float32', 1));
    if (ds.groupOffsets) cols.push(this.open({ kind: 'groupOffsets' }, 'int32', 1));
    (ds.sequences ?? []).forEach((_, i) => {
      cols.push(this.open({ kind: 'seqOffsets', index: i }, 'int32', 1));
      cols.push(this.open({ kind: 'seqIds', index: i }, 'int32', 1));
    });
    this.seqIdsWritten = (ds.sequences ?? []).map(() => 0);
    this.columns = cols;
  }

  private put(col: OpenColumn, data: Int32Array | Float32Array): void {
    const bytes = bytesOf(data);
    writeAll(col.fd, bytes);
    col.entry.crc32 = crc32(bytes, col.entry.crc32);
    col.elems += data.length;
  }

  /** Appends the rows of `chunk` (same fields, labels and optional columns as the first chunk). Groups must not span chunks. */
  append(chunk: Dataset): void {
    if (this.done) throw new Error('CacheWriter: already committed or aborted');
    if (this.columns === undefined) this.start(chunk);
    const L = this.layout!;
    const n = chunk.numRows;
    const F = L.numFields;
    const mismatch = (what: string): never => {
      throw new Error(`CacheWriter.append: chunk ${what} differs from the first chunk's`);
    };
    if (chunk.numFields !== F || chunk.numIds !== L.numIds || chunk.labels.length !== L.labelNames.length) mismatch('layout');
    if ((chunk.negativeSampleRate ?? 1) !== L.negativeSampleRate) mismatch('negativeSampleRate');
    if (chunk.ids.length !== n * F) throw new Error(`CacheWriter.append: ids has ${chunk.ids.length} entries, expected ${n}×${F}`);
    let seqIndex = 0;
    for (const col of this.columns!) {
      const role = col.entry.role;
      const rowsCheck = (a: Int32Array | Float32Array | undefined, width: number, name: string): Int32Array | Float32Array => {
        if (a === undefined) return mismatch(`column set (no ${name})`);
        if (a.length !== n * width) throw new Error(`CacheWriter.append: ${name} has ${a.length} entries, expected ${n * width}`);
        return a;
      };
      switch (role.kind) {
        case 'ids': this.put(col, chunk.ids); break;
        case 'label': this.put(col, rowsCheck(chunk.labels[role.index], 1, `label ${role.index}`)); break;
        case 'weights': this.put(col, rowsCheck(chunk.weights, 1, 'weights')); break;
        case 'dense': this.put(col, rowsCheck(chunk.dense, col.width, 'dense')); break;
        case 'keepProb': this.put(col, rowsCheck(chunk.keepProb, 1, 'keepProb')); break;
        case 'groupOffsets': {
          const g = chunk.groupOffsets ?? mismatch('column set (no groupOffsets)');
          if (g.length < 1 || g[0] !== 0 || g[g.length - 1] !== n) throw new Error('CacheWriter.append: groupOffsets must run from 0 to numRows');
          // Each chunk's offsets are relative to the chunk: shift them to the cache's row numbering.
          const from = this.numRows === 0 ? 0 : 1;
          const shifted = new Int32Array(g.length - from);
          for (let i = from; i < g.length; i++) shifted[i - from] = g[i]! + this.numRows;
          this.put(col, shifted);
          this.numGroups += g.length - 1;
          break;
        }
        case 'seqOffsets': {
          const s = chunk.sequences?.[role.index] ?? mismatch('sequences');
          if (s.offsets.length !== n + 1 || s.offsets[0] !== 0 || s.offsets[n] !== s.ids.length) {
            throw new Error(`CacheWriter.append: sequence ${s.name} offsets must run from 0 to its ids' length over numRows+1 entries`);
          }
          const base = this.seqIdsWritten[role.index]!;
          const from = this.numRows === 0 ? 0 : 1;
          const shifted = new Int32Array(n + 1 - from);
          for (let i = from; i <= n; i++) shifted[i - from] = s.offsets[i]! + base;
          this.put(col, shifted);
          break;
        }
        case 'seqIds': {
          const s = chunk.sequences![role.index]!;
          this.put(col, s.ids);
          this.seqIdsWritten[role.index]! += s.ids.length;
          seqIndex++;
          break;
        }
      }
    }
    if ((chunk.sequences?.length ?? 0) !== seqIndex) mismatch('sequence count');
    this.numRows += n;
  }

  /** Syncs every file, writes the manifest, and moves the cache into place (replacing an older one). */
  commit(): CacheManifest {
    if (this.done) throw new Error('CacheWriter: already committed or aborted');
    if (this.columns === undefined) throw new Error('CacheWriter.commit: no rows were appended (an empty cache needs one empty chunk for its layout)');
    try {
      for (const col of this.columns) {
        const e = col.entry;
        e.byteLength = col.elems * 4;
        e.shape = col.width === 1 ? [col.elems] : [col.elems / col.width, col.width];
        fsyncSync(col.fd);
        closeSync(col.fd);
        col.fd = -1;
      }
      const manifest: CacheManifest = {
        formatVersion: CACHE_FORMAT_VERSION,
        createdBy: ctrkitVersion(),
        createdAt: new Date().toISOString(),
        numRows: this.numRows,
        ...this.layout!,
        schema: this.identity.schema,
        schemaHash: this.identity.schemaHash,
        sourceHash: this.identity.sourceHash,
        sources: this.identity.sources,
        columns: this.columns.map((c) => c.entry),
      };
      const mfd = openSync(join(this.tempDir, MANIFEST_FILE), 'w');
      try {
        writeAll(mfd, Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`));
        fsyncSync(mfd);
      } finally {
        closeSync(mfd);
      }
      fsyncDir(this.tempDir);
      this.swapIntoPlace();
      this.done = true;
      return manifest;
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  private swapIntoPlace(): void {
    // rename(2) cannot replace a non-empty directory, so an existing cache is first retired under a
    // name the next writer cleans up; in between there is briefly no cache, never a mixed one.
    let retired: string | undefined;
    if (existsSync(this.target)) {
      retired = `${this.target}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
      renameSync(this.target, retired);
    }
    renameSync(this.tempDir, this.target);
    fsyncDir(dirname(this.target));
    if (retired !== undefined) rmSync(retired, { recursive: true, force: true });
  }

  /** Discards everything written; the target (an existing cache included) is left as it was. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    for (const col of this.columns ?? []) {
      if (col.fd >= 0) {
        try {
          closeSync(col.fd);
        } catch {
          // Already closed: nothing to release.
        }
      }
    }
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}

/** Writes `ds` as a cache at `dir` in one go (atomic; see CacheWriter). */
export function writeCache(dir: string, ds: Dataset, identity: CacheIdentity = {}): CacheManifest {
  const w = new CacheWriter(dir, identity);
  try {
    w.append(ds);
  } catch (e) {
    w.abort();
    throw e;
  }
  return w.commit();
}

/**
 * Streams chunks into a cache: on any error (a throwing producer included) the partial cache is
 * removed and an existing cache at `dir` is left untouched.
 */
export async function writeCacheChunks(dir: string, chunks: AsyncIterable<Dataset> | Iterable<Dataset>,
  identity: CacheIdentity = {}): Promise<CacheManifest> {
  const w = new CacheWriter(dir, identity);
  try {
    for await (const c of chunks) w.append(c);
  } catch (e) {
    w.abort();
    throw e;
  }
  return w.commit();
}
