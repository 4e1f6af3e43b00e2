/**
 * Crash-safe writes. A reader (or a restarted run) must see either the previous complete file
 * or directory or the new complete one, never a torn mix: content goes to a temporary name next
 * to the target (same filesystem, so rename is atomic), is fsynced, and only then renamed into
 * place; the parent directory is fsynced so that the rename itself survives a power loss.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** fsync of a directory is how POSIX persists a rename; platforms that cannot do it (Windows) are skipped. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (e) {
    if (isCode(e, 'EISDIR', 'EPERM', 'EACCES')) return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!isCode(e, 'EINVAL', 'EPERM', 'EBADF')) throw e;
  } finally {
    closeSync(fd);
  }
}

function isCode(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as { code?: string }).code ?? '');
}

function fsyncTree(path: string): void {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) fsyncTree(join(path, name));
    fsyncDir(path);
  } else {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * `mkdir -p` that always ends. Node's recursive mkdirSync loops forever, synchronously (so Ctrl-C
 * cannot stop it), when mkdir of a component fails with ENOENT although its parent exists (under
 * /proc, or a parent removed meanwhile); creating the missing components once each, in order, turns
 * every failure into the error of the path that failed.
 */
export function ensureDir(path: string): void {
  const target = resolve(path);
  const missing: string[] = [];
  let p = target;
  while (!existsSync(p)) {
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  // Errors name the directory asked for (`path`) and, in `detail`, the component that failed.
  if (existsSync(p) && !statSync(p).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${target}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: target, detail: `${p} is a file` });
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (e) {
      // Created meanwhile by another process: fine as long as it is a directory.
      if (isCode(e, 'EEXIST') && statSync(dir).isDirectory()) continue;
      if (dir !== target && e instanceof Error) Object.assign(e, { path: target, detail: `at ${dir}` });
      throw e;
    }
  }
}

/** Writes `data` (a string, bytes, or chunks written in order) to `path` atomically and durably. */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const dir = dirname(resolve(path));
  const tmp = join(dir, `.${basename(path)}.tmp-${uniqueSuffix()}`);
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  const fd = openSync(tmp, 'wx');
  try {
    try {
      for (const c of chunks) {
        let done = 0;
        while (done < c.length) done += writeSync(fd, c, done, c.length - done);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Sibling names used while publishing `finalDir` (exported for recovery and tests). */
export function publishSiblings(finalDir: string): { parent: string; tmpPrefix: string; newPrefix: string; oldPrefix: string } {
  const abs = resolve(finalDir);
  const base = basename(abs);
  return { parent: dirname(abs), tmpPrefix: `.${base}.tmp-`, newPrefix: `.${base}.new-`, oldPrefix: `.${base}.old-` };
}

/**
 * Builds a directory with `fill(tmpDir)` under a temporary sibling name, fsyncs it, then swaps
 * it in for `finalDir`. If fill throws, the temporary directory is removed and `finalDir` is
 * untouched. Node has no atomic directory exchange, so the swap is rename-old-away then
 * rename-new-in; a crash between the two leaves both complete directories under marked names
 * (`.<name>.new-*` is only ever a fully written one), which `recoverPublishedDir` puts back.
 */
export function publishDirAtomic(finalDir: string, fill: (tmpDir: string) => void): void {
  const { parent, tmpPrefix, newPrefix, oldPrefix } = publishSiblings(finalDir);
  const target = resolve(finalDir);
  ensureDir(parent);
  recoverPublishedDir(target);
  const suffix = uniqueSuffix();
  const tmp = join(parent, tmpPrefix + suffix);
  const ready = join(parent, newPrefix + suffix);
  mkdirSync(tmp);
  try {
    fill(tmp);
    fsyncTree(tmp);
    // Renamed once complete, so that recovery can tell a finished directory from a torn one.
    renameSync(tmp, ready);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = join(parent, oldPrefix + suffix);
  const hadOld = existsSync(target);
  if (hadOld) renameSync(target, old);
  renameSync(ready, target);
  fsyncDir(parent);
  if (hadOld) rmSync(old, { recursive: true, force: true });
}

/**
 * Repairs what a crash during publishDirAtomic can leave: if `finalDir` is missing, the newest
 * complete `.new-*` sibling (else the `.old-*` one) is renamed back. Torn `.tmp-*` siblings
 * are left alone because another live process may be filling them.
 */
export function recoverPublishedDir(finalDir: string): void {
  const { parent, newPrefix, oldPrefix } = publishSiblings(finalDir);
  const target = resolve(finalDir);
  if (existsSync(target) || !existsSync(parent)) return;
  const siblings = readdirSync(parent);
  const newest = (prefix: string): string | undefined => siblings
    .filter((n) => n.startsWith(prefix))
    .map((n) => ({ n, t: statSync(join(parent, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t)[0]?.n;
  const fresh = newest(newPrefix);
  const pick = fresh ?? newest(oldPrefix);
  if (!pick) return;
  renameSync(join(parent, pick), target);
  fsyncDir(parent);
  // The directory this one replaced is now garbage.
  if (fresh) rmSync(join(parent, oldPrefix + fresh.slice(newPrefix.length)), { recursive: true, force: true });
}
