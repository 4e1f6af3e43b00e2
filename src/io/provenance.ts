/**
 * Where a model came from: a content hash of its training data and the ctrkit version, so that a
 * model file can be traced to (and checked against) the exact inputs that produced it.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHUNK = 1 << 20;

/** Feeds a file's bytes to `h` in 1 MiB chunks, so a data set of any size is hashed in constant memory. */
function hashFileInto(h: Hash, path: string): number {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      total += n;
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/** sha256 of one file's contents, as lowercase hex. */
export function sha256File(path: string): string {
  const h = createHash('sha256');
  hashFileInto(h, path);
  return h.digest('hex');
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/**
 * `sha256:<hex>` over the contents of the given data sources, in the order given (train, valid
 * and test swapped is a different experiment). Paths themselves are not hashed, so moving or
 * renaming a file keeps its hash; a directory contributes its files in sorted order, with
 * names relative to it, because a partitioned data set's layout is part of its content.
 */
export function dataHash(sources: readonly string[]): string {
  const h = createHash('sha256');
  h.update(`ctrkit-data-hash-v1\n${sources.length}\n`);
  for (const src of sources) {
    if (!existsSync(src)) throw new Error(`dataHash: data source ${src} does not exist`);
    if (statSync(src).isDirectory()) {
      const files = filesUnder(src);
      h.update(`dir ${files.length}\n`);
      for (const f of files) {
        const fh = createHash('sha256');
        const n = hashFileInto(fh, f);
        h.update(`${relative(src, f).split(sep).join('/')} ${n} ${fh.digest('hex')}\n`);
      }
    } else {
      const fh = createHash('sha256');
      const n = hashFileInto(fh, src);
      h.update(`file ${n} ${fh.digest('hex')}\n`);
    }
  }
  return `sha256:${h.digest('hex')}`;
}

let cachedVersion: string | undefined;

/** The version in ctrkit's package.json (found by walking up from this module, from src or dist). */
export function ctrkitVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'ctrkit' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('ctrkitVersion: package.json of ctrkit not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
