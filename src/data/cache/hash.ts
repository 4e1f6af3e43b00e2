/**
 * Identity of what a cache was built from: a canonical hash of the caller's schema, and
 * fingerprints of the source files. A fingerprint keeps size + mtime (cheap to compare on every
 * open) and the content hash (the arbiter when the cheap check says something changed).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JsonValue, SourceFingerprint } from './format.js';

/** JSON with object keys sorted, so that equal schemas hash equally whatever their key order. */
export function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`canonicalJson: ${v} is not representable in JSON`);
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`).join(',')}}`;
}

/** SHA-256 (hex) of the schema's canonical JSON. */
export function hashSchema(schema: JsonValue): string {
  return createHash('sha256').update(canonicalJson(schema)).digest('hex');
}

/** SHA-256 (hex) of a file's content, read in 4 MiB pieces so that large sources stream. */
export function hashFile(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 22);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export function fingerprintSource(path: string): SourceFingerprint {
  const abs = resolve(path);
  const st = statSync(abs, { bigint: true });
  return { path: abs, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), sha256: hashFile(abs) };
}

/** One hash for a list of sources: their contents in order (paths excluded, so moving the data keeps the cache). */
export function combineSourceHashes(fps: readonly SourceFingerprint[]): string {
  const h = createHash('sha256');
  for (const f of fps) h.update(`${f.sha256}\n`);
  return h.digest('hex');
}

/**
 * Why `fp`'s file no longer matches, or undefined when it does. A file whose size and mtime are
 * unchanged is trusted without reading it unless `rehash` (content rewritten within the file
 * system's timestamp resolution, or with its mtime restored, is only caught that way); a changed
 * stat is confirmed by hashing, so a mere `touch` does not cost a rebuild.
 */
export function sourceChange(fp: SourceFingerprint, rehash = false): string | undefined {
  let st;
  try {
    st = statSync(fp.path, { bigint: true });
  } catch {
    return `source ${fp.path} is missing`;
  }
  if (Number(st.size) !== fp.size) return `source ${fp.path} changed size (${fp.size} → ${st.size} bytes)`;
  if (!rehash && st.mtimeNs.toString() === fp.mtimeNs) return undefined;
  return hashFile(fp.path) === fp.sha256 ? undefined : `source ${fp.path} changed content`;
}
