import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel, type JsonValue } from '../../src/io/modelFile.js';
import { createModel, parseModelConfig } from '../../src/models/registry.js';
import { FittedSchema, type SchemaSpec } from '../../src/schema/index.js';
import { loadSnapshot } from '../../src/serve/snapshot.js';
import { predictRows } from '../../src/train/predict.js';

/* A DIN model over a required target item and a history sharing its vocabulary, saved untrained. */
const SPEC: SchemaSpec = {
  labels: [{ name: 'click', column: 'click', type: 'binary' }],
  fields: [{ name: 'item', column: 'item', privileged: false, kind: 'vocab', logBucket: false, minCount: 1, vocabulary: ['a', 'b', 'c'], required: true }],
  dense: [],
  sequences: [{ name: 'hist', column: 'hist', privileged: false, separator: '|', columns: ['h1', 'h2'], kind: 'shared', vocab: 'item' }],
};

describe('serving a DIN model', () => {
  it('loads (the missing-value probe respects required fields) and scores a history given as one value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-din-'));
    try {
      const fitted = new FittedSchema(SPEC);
      const modelConfig = parseModelConfig({ type: 'din', dim: 4, hidden: [8], attention: [{ sequence: 'hist', target: 'item' }], attentionHidden: [4], initStd: 0.5 });
      const dims = { numIds: fitted.numIds, numFields: 1, numSequences: 1, features: fitted.features() };
      const model = createModel(modelConfig, dims, 3);
      const source = { format: 'csv', path: 'x.csv', header: true, delimiter: ',', trim: false };
      saveModel(join(dir, 'm'), { model, modelConfig, dims, schema: { fitted: fitted.toJSON(), source } as unknown as JsonValue, metrics: {}, provenance: { dataHash: 'sha256:x', seed: 3 } });
      const snap = loadSnapshot(join(dir, 'm'));
      snap.encoder.push(['b', 'a|c'], 'request', 0);
      snap.encoder.push(['b', ''], 'request', 1);
      const ds = snap.encoder.take();
      // The history's tokens are the item field's ids: a → 1, c → 3 (offset 0, one table range).
      assert.deepEqual([...ds.sequences![0]!.ids], [1, 3]);
      const scores = snap.score(ds, 0, 2)[0]!;
      const want = [...predictRows(model, ds, { start: 0, end: 2 })].map((z) => 1 / (1 + Math.exp(-z)));
      want.forEach((p, i) => assert.ok(Math.abs(scores[i]! - p) < 1e-9, `row ${i}: ${scores[i]} vs ${p}`));
      assert.notEqual(scores[0], scores[1]);
      assert.throws(() => snap.encoder.check(['', 'a'], 'request', 7), /request:7: field item: value is missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
