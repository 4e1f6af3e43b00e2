/**
 * @duckdb/node-api is optional: a process in which it cannot be resolved (a module-resolve hook
 * throws for it, as Node does for a package that is not installed) still imports the package
 * entry and trains from CSV, and only a DuckDB source fails, with a message naming the package
 * and how to install it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const entry = pathToFileURL(join(root, 'dist', 'src', 'index.js')).href;

const HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === '@duckdb/node-api' || specifier.startsWith('@duckdb/')) {
    const err = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}
`;

const MISSING = /needs the optional package @duckdb\/node-api, which is not installed; install it with `npm install @duckdb\/node-api`/;

let dir = '';
let register = '';

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, ...args], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function config(name: string, source: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, [
    'data:',
    `  source: ${source}`,
    '  labels: [{ name: click, column: y }]',
    '  fields: [{ name: city, kind: categorical, minCount: 1 }, { name: n, kind: numeric, transform: log-bucket }]',
    'model: { type: lr }',
    'train: { epochs: 1, batchSize: 64, seed: 1, optimizer: { type: adam, lr: 0.01 } }',
    `output: ${join(dir, `out-${name}`)}`,
  ].join('\n'));
  return file;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctrkit-noduckdb-'));
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  register = join(dir, 'register.mjs');
  writeFileSync(register, "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  const rows = ['y,city,n'];
  for (let i = 0; i < 400; i++) rows.push(`${i % 3 === 0 ? 1 : 0},${['paris', 'rome', 'oslo', 'lima'][i % 4]},${i % 17}`);
  writeFileSync(join(dir, 'd.csv'), `${rows.join('\n')}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('without @duckdb/node-api', () => {
  it('the hook makes the package unresolvable (else this file tests nothing)', () => {
    const r = node(['--input-type=module', '-e', "await import('@duckdb/node-api').then(() => console.log('loaded'), (e) => console.log(e.code));"]);
    assert.equal(r.stdout.trim(), 'ERR_MODULE_NOT_FOUND', r.stderr);
  });

  it('the package entry imports and `ctrkit train` trains from CSV', () => {
    const imported = node(['--input-type=module', '-e', `const m = await import(${JSON.stringify(entry)}); console.log(typeof m.buildDataset, typeof m.Trainer);`]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(imported.stdout.trim(), 'function function');
    const r = node([cli, 'train', config('csv', '{ format: csv, path: d.csv }'), '-q']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { test: { auc: number | null } };
    assert.equal(typeof summary.test.auc, 'number');
  });

  it('a Parquet or SQL source fails with a one-line message naming the package and how to install it', () => {
    const lib = node(['--input-type=module', '-e', `
      const { buildDataset, parseDataConfig } = await import(${JSON.stringify(entry)});
      const cfg = parseDataConfig({ source: { format: 'parquet', path: 'd.parquet' }, labels: [{ name: 'click', column: 'y' }],
        fields: [{ name: 'city', kind: 'categorical' }] }, 'test');
      await buildDataset(cfg, process.cwd()).then(() => console.log('built'), (e) => console.log(e.name + ': ' + e.message));`]);
    assert.equal(lib.status, 0, lib.stderr);
    assert.match(lib.stdout.trim(), /^DuckDbUnavailableError: d\.parquet: reading Parquet files through DuckDB needs/);
    assert.match(lib.stdout, MISSING);
    const r = node([cli, 'train', config('sql', "{ format: duckdb, query: 'SELECT 1 AS y' }"), '-q']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, MISSING);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /i, 'a user error, without a stack trace');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
