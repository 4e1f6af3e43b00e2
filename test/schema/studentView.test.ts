/**
 * FittedSchema.withoutPrivileged: the student's schema has no privileged field, its embedding ids
 * are packed without the privileged ranges, and the projection maps the full dataset's and
 * batches' ids, dense columns and sequences onto exactly what the student schema lays out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FittedSchema, type SchemaSpec } from '../../src/schema/index.js';
import { RowGatherer } from '../../src/data/batching.js';

const base = { privileged: false };
const SPEC: SchemaSpec = {
  labels: [{ name: 'click', column: 'click', type: 'binary' }],
  fields: [
    { ...base, name: 'item', column: 'item', kind: 'vocab', logBucket: false, minCount: 1, vocabulary: ['a', 'b', 'c'] },
    { ...base, name: 'page', column: 'page', kind: 'vocab', logBucket: false, minCount: 1, vocabulary: ['x', 'y'], privileged: true },
    { ...base, name: 'city', column: 'city', kind: 'hash', buckets: 5 },
  ],
  dense: [
    { ...base, name: 'dwell', column: 'dwell', transform: 'identity', mean: 0, std: 1, privileged: true },
    { ...base, name: 'price', column: 'price', transform: 'identity', mean: 0, std: 1 },
  ],
  sequences: [
    { ...base, name: 'ctx', column: 'ctx', separator: '|', kind: 'hash', buckets: 7, privileged: true },
    { ...base, name: 'hist', column: 'hist', separator: '|', kind: 'shared', vocab: 'item' },
    { ...base, name: 'tags', column: 'tags', separator: '|', kind: 'hash', buckets: 3 },
  ],
};

describe('FittedSchema.withoutPrivileged', () => {
  const full = new FittedSchema(SPEC);
  const view = full.withoutPrivileged()!;
  const student = view.fitted;

  it('drops the privileged fields and their embedding rows', () => {
    assert.deepEqual(student.spec.fields.map((f) => f.name), ['item', 'city']);
    assert.deepEqual(student.spec.dense.map((f) => f.name), ['price']);
    assert.deepEqual(student.spec.sequences.map((f) => f.name), ['hist', 'tags']);
    assert.deepEqual(student.privileged(), []);
    // item 4 + page 3 + city 5 + ctx 7 + tags 3 rows in full; page and ctx gone in the student.
    assert.equal(full.numIds, 22);
    assert.equal(student.numIds, 12);
    assert.equal(new FittedSchema({ ...SPEC, fields: SPEC.fields.map((f) => ({ ...f, privileged: false })), dense: SPEC.dense.map((f) => ({ ...f, privileged: false })), sequences: SPEC.sequences.map((s) => ({ ...s, privileged: false })) }).withoutPrivileged(), undefined);
  });

  it("maps a dataset's and a batch's columns to the student's ids", () => {
    // Two rows: item b / page y / city 3, dwell 9, price 1.5, ctx [2, 6], hist [a, c], tags [1]; and item OOV / page x / city 0, …
    const g = (field: number, local: number): number => full.fieldOffsets[field]! + local;
    const s = (seq: number, local: number): number => full.sequenceOffsets[seq]! + local;
    const ds = full.toDataset({
      numRows: 2,
      codes: Int32Array.from([g(0, 2), g(1, 2), g(2, 3), g(0, 0), g(1, 1), g(2, 0)]),
      labels: [Float32Array.from([1, 0])],
      weights: undefined,
      dense: Float64Array.from([9, 1.5, 4, -2]),
      sequences: [
        { offsets: Int32Array.from([0, 2, 3]), codes: Int32Array.from([s(0, 2), s(0, 6), s(0, 1)]) },
        { offsets: Int32Array.from([0, 2, 2]), codes: Int32Array.from([s(1, 1), s(1, 3)]) },
        { offsets: Int32Array.from([0, 1, 2]), codes: Int32Array.from([s(2, 1), s(2, 2)]) },
      ],
      groupOffsets: undefined,
    });
    const sv = view.projection.dataset(ds);
    const sg = (field: number, local: number): number => student.fieldOffsets[field]! + local;
    const ss = (seq: number, local: number): number => student.sequenceOffsets[seq]! + local;
    assert.equal(sv.numFields, 2);
    assert.equal(sv.numIds, student.numIds);
    assert.deepEqual(Array.from(sv.ids), [sg(0, 2), sg(1, 3), sg(0, 0), sg(1, 0)]);
    assert.deepEqual(Array.from(sv.fieldOffsets), Array.from(student.fieldOffsets));
    assert.deepEqual(Array.from(sv.fieldSizes), Array.from(student.fieldSizes));
    assert.deepEqual(Array.from(sv.dense!), [1.5, -2]);
    assert.deepEqual(sv.denseNames, ['price']);
    assert.deepEqual(sv.sequences!.map((q) => q.name), ['hist', 'tags']);
    assert.deepEqual(Array.from(sv.sequences![0]!.ids), [ss(0, 1), ss(0, 3)]);
    assert.deepEqual(Array.from(sv.sequences![1]!.ids), [ss(1, 1), ss(1, 2)]);
    assert.equal(sv.privileged, undefined);
    assert.ok(sv.ids.every((id) => id >= 0 && id < student.numIds));
    // A batch of the full data, projected, is the batch of the student's data.
    const fromFull = view.projection.batch(new RowGatherer(ds).gather([1, 0], 0, 2));
    const fromView = new RowGatherer(sv).gather([1, 0], 0, 2);
    assert.deepEqual(Array.from(fromFull.ids), Array.from(fromView.ids));
    assert.deepEqual(Array.from(fromFull.dense!), Array.from(fromView.dense!));
    assert.equal(fromFull.denseDim, 1);
    assert.deepEqual(fromFull.sequences!.map((q) => Array.from(q.ids)), fromView.sequences!.map((q) => Array.from(q.ids)));
    assert.deepEqual(Array.from(fromFull.labels), [0, 1]);
  });
});
