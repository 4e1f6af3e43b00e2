/**
 * The layering of README.md's architecture table, enforced: every relative import in src/ is
 * parsed, and one from a lower layer's folder into a higher layer's fails the test. The table is
 * the single statement of the order (rows lowest first, folders on one row share a layer), so a
 * new folder must be placed there before its code can import anything. Outside src/, bench/
 * stands on src/ alone: tests may import bench modules, never the reverse.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { packageRoot } from './helpers/sharedData.js';

const root = packageRoot();
const srcDir = join(root, 'src');

/** Folder name under src/ → layer rank (row of the README table). */
function layerTable(readme: string): Map<string, number> {
  const lines = readme.split('\n');
  const head = lines.findIndex((l) => /^\|\s*layer\s*\|\s*folder\s*\|/.test(l));
  assert.notEqual(head, -1, 'README.md has no "| layer | folder | what |" table');
  const ranks = new Map<string, number>();
  let rank = 0;
  for (let i = head + 2; i < lines.length && lines[i]!.startsWith('|'); i++, rank++) {
    const folderCell = lines[i]!.split('|')[2] ?? '';
    for (const m of folderCell.matchAll(/`src\/([^/`]+)\/`/g)) ranks.set(m[1]!, rank);
  }
  return ranks;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative specifiers of static imports / re-exports (type-only included) and dynamic imports. */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s*['"](\.[^'"]*)['"]/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s*['"](\.[^'"]*)['"]/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\s*\(\s*['"](\.[^'"]*)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** The src/ folder a path is in, or undefined for a file directly in src/ (the package entry, above all layers). */
function folderOf(path: string): string | undefined {
  const parts = relative(srcDir, path).split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

describe('layers', () => {
  const ranks = layerTable(readFileSync(join(root, 'README.md'), 'utf8'));

  it('README.md places every folder of src/ in the layer table', () => {
    assert.ok(ranks.size >= 10, `the layer table names only ${ranks.size} folders`);
    const folders = readdirSync(srcDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    const missing = folders.filter((f) => !ranks.has(f));
    assert.deepEqual(missing, [], `src/ folders not in README.md's layer table: ${missing.join(', ')}`);
  });

  it('the import parser sees static, multi-line, type-only, re-export and dynamic imports', () => {
    const text = [
      "import { a } from '../x/a.js';",
      'import {\n  b,\n  type C,\n} from "../y/b.js";',
      "import type { D } from './d.js';",
      "export { e } from '../z/e.js';",
      "import './side.js';",
      "const m = await import('../w/m.js');",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    assert.deepEqual(relativeImports(text), ['../x/a.js', '../y/b.js', './d.js', '../z/e.js', './side.js', '../w/m.js']);
  });

  it('no module imports from a higher layer', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of tsFiles(srcDir)) {
      const from = folderOf(file);
      if (from === undefined) continue;
      const fromRank = ranks.get(from) ?? Number.POSITIVE_INFINITY;
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        checked++;
        const target = resolve(dirname(file), spec);
        const to = folderOf(target);
        const toRank = to === undefined ? Number.POSITIVE_INFINITY : ranks.get(to) ?? Number.POSITIVE_INFINITY;
        if (toRank > fromRank) violations.push(`${relative(root, file)} (${from}) imports ${spec} (${to ?? 'the package entry'})`);
      }
    }
    assert.ok(checked > 300, `only ${checked} imports parsed: the parser is broken`);
    assert.deepEqual(violations, [], `lower layers import higher ones:\n  ${violations.join('\n  ')}`);
  });

  it('bench/ imports nothing from test/', () => {
    const benchDir = join(root, 'bench'), testDir = join(root, 'test');
    const violations: string[] = [];
    let checked = 0;
    for (const file of tsFiles(benchDir)) {
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        checked++;
        if (!relative(testDir, resolve(dirname(file), spec)).startsWith('..')) violations.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    assert.ok(checked > 50, `only ${checked} imports parsed in bench/`);
    assert.deepEqual(violations, [], `bench code depends on test code (move what both need to bench/):\n  ${violations.join('\n  ')}`);
  });
});
