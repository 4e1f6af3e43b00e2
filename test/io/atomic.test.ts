import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, publishDirAtomic, recoverPublishedDir, writeFileAtomic } from '../../src/io/atomic.js';
import { tmpDirs } from '../helpers/tmpDir.js';

const withTmp = tmpDirs('ctrkit-atomic-');

describe('writeFileAtomic', () => {
  it('writes strings, bytes and chunk lists, replacing the previous file and leaving no temp file', () => withTmp((dir) => {
    const p = join(dir, 'f.txt');
    writeFileAtomic(p, 'old');
    writeFileAtomic(p, [Buffer.from('ne'), Uint8Array.of(0x77)]);
    assert.equal(readFileSync(p, 'utf8'), 'new');
    writeFileAtomic(p, Uint8Array.of(0x41));
    assert.equal(readFileSync(p, 'utf8'), 'A');
    assert.deepEqual(readdirSync(dir), ['f.txt']);
  }));

  it('a failed write keeps the previous file and removes its temp file', () => withTmp((dir) => {
    const p = join(dir, 'f.txt');
    writeFileAtomic(p, 'old');
    // Renaming a file onto a non-empty directory fails after the temp file is written.
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'x'), { recursive: true });
    assert.throws(() => writeFileAtomic(blocked, 'data'));
    assert.equal(readFileSync(p, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir).sort(), ['blocked', 'f.txt']);
  }));
});

describe('publishDirAtomic', () => {
  it('creates, then replaces a directory as a whole', () => withTmp((dir) => {
    const d = join(dir, 'model');
    publishDirAtomic(d, (tmp) => {
      writeFileSync(join(tmp, 'a'), '1');
      writeFileSync(join(tmp, 'stale'), 'x');
    });
    publishDirAtomic(d, (tmp) => {
      mkdirSync(join(tmp, 'sub'));
      writeFileSync(join(tmp, 'sub', 'b'), '2');
      writeFileSync(join(tmp, 'a'), '3');
    });
    assert.deepEqual(readdirSync(d).sort(), ['a', 'sub']);
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), '3');
    assert.deepEqual(readdirSync(dir), ['model']);
  }));

  it('a fill that throws leaves the previous directory intact and no temp directories', () => withTmp((dir) => {
    const d = join(dir, 'model');
    publishDirAtomic(d, (tmp) => writeFileSync(join(tmp, 'a'), 'good'));
    assert.throws(() => publishDirAtomic(d, (tmp) => {
      writeFileSync(join(tmp, 'a'), 'half');
      throw new Error('disk full');
    }), /disk full/);
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'good');
    assert.deepEqual(readdirSync(dir), ['model']);
  }));

  it('a fill that throws on first publish leaves nothing', () => withTmp((dir) => {
    assert.throws(() => publishDirAtomic(join(dir, 'm'), () => {
      throw new Error('boom');
    }), /boom/);
    assert.deepEqual(readdirSync(dir), []);
  }));

  it('recovers from a crash between moving the old directory away and the new one in', () => withTmp((dir) => {
    const d = join(dir, 'model');
    publishDirAtomic(d, (tmp) => writeFileSync(join(tmp, 'a'), 'old'));
    // The state publishDirAtomic passes through: old renamed away, new complete but not yet in place.
    renameSync(d, join(dir, '.model.old-1-aa'));
    mkdirSync(join(dir, '.model.new-1-aa'));
    writeFileSync(join(dir, '.model.new-1-aa', 'a'), 'new');
    recoverPublishedDir(d);
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir), ['model']);
  }));

  it('falls back to the old directory when the new one never completed', () => withTmp((dir) => {
    const d = join(dir, 'model');
    mkdirSync(join(dir, '.model.old-1-aa'));
    writeFileSync(join(dir, '.model.old-1-aa', 'a'), 'old');
    mkdirSync(join(dir, '.model.tmp-2-bb'));
    recoverPublishedDir(d);
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'old');
    assert.ok(existsSync(join(dir, '.model.tmp-2-bb')), 'a torn temp dir may belong to a live writer and is left alone');
  }));
});

describe('ensureDir', () => {
  it('creates the missing components and accepts an existing directory', () => withTmp((dir) => {
    const p = join(dir, 'a', 'b', 'c');
    ensureDir(p);
    ensureDir(p);
    assert.ok(existsSync(p));
  }));

  it('a file on the way is an ENOTDIR naming the directory asked for and the file', () => withTmp((dir) => {
    writeFileSync(join(dir, 'f'), '');
    assert.throws(() => ensureDir(join(dir, 'f', 'x', 'y')),
      (e: NodeJS.ErrnoException & { detail?: string }) => e.code === 'ENOTDIR' && e.path === join(dir, 'f', 'x', 'y') && e.detail === `${join(dir, 'f')} is a file`);
  }));

  // Node's mkdirSync(…, { recursive: true }) never returns here (and blocks Ctrl-C): mkdir gives ENOENT although /proc exists.
  it('a component that cannot be created is an error, not an endless loop', { skip: existsSync('/proc/self') ? undefined : 'needs /proc' }, () => {
    assert.throws(() => ensureDir('/proc/ctrkit-x/y'),
      (e: NodeJS.ErrnoException & { detail?: string }) => e.code === 'ENOENT' && e.path === '/proc/ctrkit-x/y' && e.detail === 'at /proc/ctrkit-x');
  });
});
