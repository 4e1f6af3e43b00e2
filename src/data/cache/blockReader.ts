/**
 * Reads row ranges of a cache straight from its column files, for data larger than memory: only
 * the rows asked for are read (positioned reads into window buffers reused between calls). Used
 * with BlockShuffledBatches; group offsets are not served (block shuffling does not keep groups).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Rows, RowBlockReader } from '../batching.js';
import type { Dataset } from '../dataset.js';
import { assertLittleEndian, CacheCorruptError, type CacheManifest, type ColumnEntry } from './format.js';
import { readManifest, staleReason, type CacheExpectation } from './reader.js';

interface Col {
  entry: ColumnEntry;
  path: string;
  fd: number;
}

function preadInto(c: Col, into: Int32Array | Float32Array, elemOffset: number): void {
  const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
  let off = 0;
  const pos = c.entry.byteOffset + elemOffset * 4;
  while (off < bytes.length) {
    const n = readSync(c.fd, bytes, off, bytes.length - off, pos + off);
    if (n === 0) throw new CacheCorruptError(c.path, `truncated while reading at byte ${pos + off}`);
    off += n;
  }
}

export class CacheBlockReader implements RowBlockReader {
  readonly numRows: number;
  readonly manifest: CacheManifest;
  private readonly cols: Col[] = [];
  private cap = 0;
  private buf: { ids: Int32Array; labels: Float32Array[]; weights?: Float32Array; dense?: Float32Array; keepProb?: Float32Array } | undefined;

  /** Opens the cache at `dir`; throws when it is missing or stale (a block reader never serves stale data). */
  constructor(readonly dir: string, expected: CacheExpectation = {}) {
    assertLittleEndian();
    const m = readManifest(dir);
    if (m === undefined) throw new Error(`CacheBlockReader: no cache at ${dir}`);
    const why = staleReason(m, expected);
    if (why !== undefined) throw new Error(`CacheBlockReader: cache at ${dir} is stale (${why})`);
    this.manifest = m;
    this.numRows = m.numRows;
    try {
      for (const entry of m.columns) {
        if (entry.role.kind === 'groupOffsets') continue;
        const path = join(dir, entry.file);
        const fd = openSync(path, 'r');
        this.cols.push({ entry, path, fd });
        const size = fstatSync(fd).size;
        if (size !== entry.byteOffset + entry.byteLength) {
          throw new CacheCorruptError(path, `${size} bytes, the manifest says ${entry.byteOffset + entry.byteLength}${size < entry.byteLength ? ' (truncated)' : ''}`);
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    for (const c of this.cols) if (c.fd >= 0) closeSync(c.fd);
    for (const c of this.cols) c.fd = -1;
  }

  private buffers(n: number): NonNullable<CacheBlockReader['buf']> {
    if (this.buf === undefined || this.cap < n) {
      const m = this.manifest;
      const has = (k: string): boolean => m.columns.some((c) => c.role.kind === k);
      const D = m.denseNames?.length ?? 0;
      this.buf = {
        ids: new Int32Array(n * m.numFields),
        labels: m.labelNames.map(() => new Float32Array(n)),
        ...(has('weights') && { weights: new Float32Array(n) }),
        ...(has('dense') && { dense: new Float32Array(n * D) }),
        ...(has('keepProb') && { keepProb: new Float32Array(n) }),
      };
      this.cap = n;
    }
    return this.buf;
  }

  readRanges(ranges: readonly Rows[]): { ds: Dataset; rows: Int32Array } {
    const m = this.manifest;
    let n = 0;
    for (const r of ranges) {
      if (r.start < 0 || r.end > m.numRows || r.start > r.end) throw new RangeError(`CacheBlockReader: rows [${r.start}, ${r.end}) outside [0, ${m.numRows})`);
      n += r.end - r.start;
    }
    const b = this.buffers(n);
    const F = m.numFields;
    const D = m.denseNames?.length ?? 0;
    const seqN = m.sequenceNames?.length ?? 0;
    const seqOffsets = Array.from({ length: seqN }, () => new Int32Array(n + 1));
    const seqIdParts: Int32Array[][] = Array.from({ length: seqN }, () => []);
    const byRole = (kind: string, index?: number): Col | undefined =>
      this.cols.find((c) => c.entry.role.kind === kind && (index === undefined || ('index' in c.entry.role && c.entry.role.index === index)));
    let p = 0;
    for (const r of ranges) {
      const len = r.end - r.start;
      if (len === 0) continue;
      for (const c of this.cols) {
        const role = c.entry.role;
        switch (role.kind) {
          case 'ids': preadInto(c, b.ids.subarray(p * F, (p + len) * F), r.start * F); break;
          case 'label': preadInto(c, b.labels[role.index]!.subarray(p, p + len), r.start); break;
          case 'weights': preadInto(c, b.weights!.subarray(p, p + len), r.start); break;
          case 'keepProb': preadInto(c, b.keepProb!.subarray(p, p + len), r.start); break;
          case 'dense': preadInto(c, b.dense!.subarray(p * D, (p + len) * D), r.start * D); break;
          case 'seqOffsets': {
            const o = new Int32Array(len + 1);
            preadInto(c, o, r.start);
            const ids = new Int32Array(o[len]! - o[0]!);
            preadInto(byRole('seqIds', role.index)!, ids, o[0]!);
            seqIdParts[role.index]!.push(ids);
            const dst = seqOffsets[role.index]!;
            const base = dst[p]! - o[0]!;
            for (let k = 1; k <= len; k++) dst[p + k] = o[k]! + base;
            break;
          }
          default: break;
        }
      }
      p += len;
    }
    const ds: Dataset = {
      numRows: n,
      numFields: F,
      fieldNames: m.fieldNames,
      ids: b.ids.subarray(0, n * F),
      fieldSizes: Int32Array.from(m.fieldSizes),
      fieldOffsets: Int32Array.from(m.fieldOffsets),
      numIds: m.numIds,
      labels: b.labels.map((l) => l.subarray(0, n)),
      labelNames: m.labelNames,
      negativeSampleRate: m.negativeSampleRate,
      ...(b.weights && { weights: b.weights.subarray(0, n) }),
      ...(b.dense && { dense: b.dense.subarray(0, n * D), denseNames: m.denseNames }),
      ...(b.keepProb && { keepProb: b.keepProb.subarray(0, n) }),
      ...(seqN > 0 && {
        sequences: seqOffsets.map((o, i) => {
          const parts = seqIdParts[i]!;
          const ids = new Int32Array(o[n]!);
          let q = 0;
          for (const part of parts) {
            ids.set(part, q);
            q += part.length;
          }
          return { name: m.sequenceNames![i]!, offsets: o, ids };
        }),
      }),
    };
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    return { ds, rows };
  }
}
