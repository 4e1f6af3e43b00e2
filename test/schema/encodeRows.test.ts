/**
 * RowEncoder.encodeColumns (rows given column by column, the server's columnar requests) stores
 * exactly what pushing the same rows one by one stores, for every kind of input, and fails on
 * the same values; a log-bucket vocabulary field's id (looked up by number, src/schema/fitted.ts)
 * is the id of its token's text.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DataFormatError } from '../../src/data/readers/errors.js';
import type { RawValue } from '../../src/data/prep/field.js';
import { FittedSchema, RowEncoder, type FeatureColumn, type SchemaSpec, type StoredColumns } from '../../src/schema/index.js';

const SPEC: SchemaSpec = {
  labels: [{ name: 'click', column: 'click', type: 'binary' }],
  fields: [
    { name: 'user', column: 'user', privileged: false, kind: 'hash', buckets: 50 },
    { name: 'city', column: 'city', privileged: false, kind: 'vocab', logBucket: false, minCount: 1, vocabulary: ['paris', 'rome', '', '7'] },
    { name: 'count', column: 'count', privileged: false, kind: 'vocab', logBucket: true, minCount: 1, vocabulary: ['0', '1', '2', '-1', '', '4', '9', '17', '-99999999999999999999'] },
    { name: 'hcount', column: 'hcount', privileged: false, kind: 'hash', buckets: 30, logBucket: true },
    { name: 'price', column: 'price', privileged: false, kind: 'bucketize', boundaries: [1, 10, 100] },
  ],
  dense: [
    { name: 'x', column: 'x', privileged: false, transform: 'standardize', mean: 1, std: 2 },
    { name: 'y', column: 'y', privileged: false, transform: 'log', mean: 0, std: 1 },
  ],
  sequences: [
    { name: 'items', column: 'items', privileged: false, separator: '|', maxLength: 3, kind: 'vocab', minCount: 1, vocabulary: ['a', 'b', 'c'] },
    { name: 'tags', column: 'tags', privileged: false, separator: ' ', kind: 'hash', buckets: 7 },
    { name: 'cities', column: 'cities', privileged: false, separator: ',', kind: 'shared', vocab: 'city' },
  ],
};

const COUNTS: RawValue[] = ['', '0', '1', '2', '3', '-1', '-0', '+2', '007', '12', '100', '1000000', '99999999999999999999', '-99999999999999999999', '2.5', '1e3',
  0, -0, 1, 2, 2.5, 3, 17, -1, 1e300, -1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** Row i's values in featureNames order (every kind of value each input takes). */
function row(i: number): RawValue[] {
  return [
    `u${i}`, ['paris', 'rome', 'oslo', '', 7, 7.5][i % 6]!, COUNTS[i % COUNTS.length]!, ['5', '', '300', 4][i % 4]!, [(i * 7) % 150, '', '3.5'][i % 3]!,
    i / 10 - 1, ['', 3, '0.5'][i % 3]!, ['a|b|c|zz', '', 'b', 'c|a'][i % 4]!, ['x y', '', 'z'][i % 3]!, ['paris,oslo', '', 'rome'][i % 3]!,
  ];
}

function pushed(enc: RowEncoder, rows: RawValue[][]): StoredColumns {
  rows.forEach((r, i) => enc.push(r, 'request', i));
  return enc.takeColumns();
}

const columnsOf = (rows: RawValue[][]): RawValue[][] => rows[0]!.map((_, k) => rows.map((r) => r[k]!));

describe('RowEncoder.encodeColumns', () => {
  const fitted = new FittedSchema(SPEC);
  const rows = Array.from({ length: 60 }, (_, i) => row(i));

  it('stores what pushing the rows one by one stores, for every kind of input', () => {
    const enc = new RowEncoder(fitted);
    const byRow = pushed(enc, rows);
    const byColumn = enc.encodeColumns(columnsOf(rows), rows.length, 'request');
    assert.deepEqual(byColumn, byRow);
    // Not vacuous: OOV and known ids, several buckets, sequences of several lengths.
    assert.ok(new Set(byRow.codes).size > 30);
    assert.ok(byRow.sequences[0]!.codes.length > 20);
  });

  it('a value shared by every row is stored as if in each row; no rows store nothing', () => {
    const enc = new RowEncoder(fitted);
    const same = rows.map((r) => [...r.slice(0, 2), '17', ...r.slice(3, 9), 'rome,paris']);
    const cols: FeatureColumn[] = columnsOf(rows);
    cols[2] = '17';
    cols[9] = 'rome,paris';
    assert.deepEqual(enc.encodeColumns(cols, rows.length, 'request'), pushed(enc, same));
    assert.deepEqual(enc.encodeColumns(columnsOf(rows).map(() => 'not a number'), 0, 'request'), pushed(enc, []));
  });

  it('fails on the first bad value in column order, naming its row and field', () => {
    const enc = new RowEncoder(fitted);
    const bad = rows.slice(0, 10).map((r) => [...r]);
    bad[6]![5] = 'old';
    bad[4]![4] = 'cheap';
    bad[8]![2] = 'many';
    const failure = (f: () => unknown): DataFormatError => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof DataFormatError, String(e));
        return e;
      }
      assert.fail('no error');
    };
    for (const [r, field, detail] of [[8, 'count', 'expected a number, got "many"'], [4, 'price', 'expected a number, got "cheap"'], [6, 'x', 'expected a number, got "old"']] as const) {
      const e = failure(() => enc.encodeColumns(columnsOf(bad), bad.length, 'request'));
      assert.deepEqual({ line: e.line, field: e.field, detail: e.detail }, { line: r, field, detail });
      // The same value pushed as a row fails the same way.
      const one = failure(() => enc.push(bad[r]!, 'request', r));
      assert.deepEqual({ line: one.line, field: one.field, detail: one.detail }, { line: r, field, detail });
      bad[r] = rows[r]!;
    }
    assert.equal(enc.numRows, 0);
  });

  it("a log-bucket vocabulary field's id is the id of its token's text", () => {
    const j = 2;
    const vocab = SPEC.fields[j]!.kind === 'vocab' ? SPEC.fields[j]!.vocabulary : [];
    const byText = (raw: RawValue): number => fitted.fieldOffsets[j]! + vocab.indexOf(fitted.vocabToken(j, raw)) + 1;
    // Parsed values, as fieldId takes them: text that is not an integer is parsed as a number.
    const parsed = COUNTS.map((v) => (typeof v === 'string' && v !== '' && !/^[+-]?\d+$/.test(v) ? Number(v) : v));
    const values: RawValue[] = [...parsed, ...Array.from({ length: 400 }, (_, k) => String(k - 20)), ...Array.from({ length: 400 }, (_, k) => Math.exp(k / 40))];
    const known = new Set<number>();
    for (const v of values) {
      const id = fitted.fieldId(j, v, 0);
      assert.equal(id, byText(v), `value ${typeof v} ${String(v)}`);
      known.add(id);
    }
    assert.equal(known.size, vocab.length + 1, 'every token and OOV reached');
  });
});
