/** Float64 references, gradient probes and the save/load check for the models whose sub-networks read feature groups (two-tower, Q·U). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mul } from '../../src/autograd/ops/elementwise.js';
import { reducePending } from '../../src/autograd/ops/embedding.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import type { Batch } from '../../src/data/batch.js';
import { RowGatherer } from '../../src/data/batching.js';
import type { FeatureInfo } from '../../src/data/features.js';
import type { Dataset } from '../../src/data/dataset.js';
import { parseExperimentConfig } from '../../src/experiment/config.js';
import { loadModel, saveModel } from '../../src/io/modelFile.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import { createModel, parseModelConfig, type ModelConfigInput, type ModelDims } from '../../src/models/registry.js';
import { buildDataset, type FittedSchema } from '../../src/schema/index.js';
import { ConfigError } from '../../src/schema/errors.js';
import { predictRows } from '../../src/train/predict.js';
import type { Embedding } from '../../src/nn/embedding.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { dataConfig, tempFiles } from '../schema/helpers.js';
import { assertGradcheck } from './gradcheck.js';
import { bits } from './trainSteps.js';

/** Per row, the input of a net over `groups`: their id embeddings, mean-pooled sequences and dense columns (schema order within each kind). */
export function groupInputs64(features: readonly FeatureInfo[], batch: Batch, dim: number, emb: Float64Array, groups: readonly string[]): Float64Array[] {
  const of = (k: string): FeatureInfo[] => features.filter((f) => f.group !== undefined && groups.includes(f.group) && f.kind === k);
  return Array.from({ length: batch.size }, (_, r) => {
    const x: number[] = [];
    for (const f of of('id')) for (let d = 0; d < dim; d++) x.push(emb[batch.ids[r * batch.numFields + f.index]! * dim + d]!);
    for (const f of of('sequence')) {
      const { ids, offsets } = batch.sequences![f.index]!;
      const n = offsets[r + 1]! - offsets[r]!;
      for (let d = 0; d < dim; d++) {
        let s = 0;
        for (let j = offsets[r]!; j < offsets[r + 1]!; j++) s += emb[ids[j]! * dim + d]!;
        x.push(n === 0 ? 0 : s / n);
      }
    }
    for (const f of of('dense')) x.push(batch.dense![r * batch.denseDim! + f.index]!);
    return Float64Array.from(x);
  });
}

/** The MLP `prefix` in float64: tanh hidden layers, a linear output. */
export function mlp64(p: Map<string, Float64Array>, shapes: Map<string, readonly number[]>, prefix: string, x: Float64Array, layers: number): Float64Array {
  for (let l = 0; l < layers; l++) {
    const W = p.get(`${prefix}.layers.${l}.W`)!;
    const b = p.get(`${prefix}.layers.${l}.b`)!;
    const [inD, outD] = shapes.get(`${prefix}.layers.${l}.W`)! as [number, number];
    const y = new Float64Array(outD);
    for (let o = 0; o < outD; o++) {
      let s = b[o]!;
      for (let i = 0; i < inD; i++) s += x[i]! * W[i * outD + o]!;
      y[o] = l < layers - 1 ? Math.tanh(s) : s;
    }
    x = y;
  }
  return x;
}

interface GradientProbe {
  /** 'emb.weight', then the named parameters. */
  names: string[];
  shapes: Map<string, readonly number[]>;
  /** Parameter values and autograd gradients of Σ probe·z, in `names` order (the table's sparse gradient made dense). */
  inputs: Float64Array[];
  analytic: Float64Array[];
  /** The model's logits. */
  z32: Float64Array;
}

/** Backpropagates Σ_r probe_r z_r through the model once and collects what a finite-difference check compares. */
function probeGradients(m: CTRModel & { emb: Embedding }, batch: Batch, probe: Float32Array): GradientProbe {
  const z = m.forward(batch);
  backward(sum(mul(z, new Tensor(probe, [batch.size]))));
  const named = m.namedParameters();
  const table = m.emb.weight;
  const g = table.sparseGrad(reducePending(table));
  const tableGrad = new Float64Array(table.data.length);
  for (let i = 0; i < g.count; i++) for (let d = 0; d < table.dim; d++) tableGrad[g.rows[i]! * table.dim + d] = g.values[i * table.dim + d]!;
  const probeResult: GradientProbe = {
    names: ['emb.weight', ...named.map(([n]) => n)],
    shapes: new Map<string, readonly number[]>(named.map(([n, q]) => [n, q.shape])),
    inputs: [Float64Array.from(table.data), ...named.map(([, q]) => Float64Array.from(q.data))],
    analytic: [tableGrad, ...named.map(([, q]) => Float64Array.from(q.grad))],
    z32: Float64Array.from(z.data),
  };
  endStep();
  return probeResult;
}

/**
 * Saves the model, loads it back and returns the loaded model after checking that its
 * predictions over all of `ds` are bit-identical to the original's.
 */
export function assertSaveLoadBitIdentical(m: CTRModel, input: ModelConfigInput, fitted: FittedSchema, dims: ModelDims, ds: Dataset): CTRModel {
  const before = predictRows(m, ds, { start: 0, end: ds.numRows }, 64);
  const dir = mkdtempSync(join(tmpdir(), 'ctrkit-model-'));
  try {
    saveModel(join(dir, 'm'), {
      model: m, modelConfig: parseModelConfig(input), schema: fitted.toJSON(), dims, metrics: {},
      provenance: { dataHash: 'sha256:' + '0'.repeat(64), seed: 3 },
    });
    const { model: loaded } = loadModel(join(dir, 'm'));
    assert.deepEqual(bits(predictRows(loaded, ds, { start: 0, end: ds.numRows }, 64)), bits(before));
    return loaded;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The model's logits on `batch` match `reference` (float64, from the parameters by name) and
 * its autograd gradients match central differences of it; every prefix in `prefixes` has a
 * parameter with a non-zero gradient. Returns the parameter names ('emb.weight' first).
 */
export function assertMatchesReference64(
  m: CTRModel & { emb: Embedding }, batch: Batch, reference: (p: Map<string, Float64Array>, shapes: Map<string, readonly number[]>) => Float64Array,
  prefixes: readonly string[], label: string,
): string[] {
  const rng = new Rng(2);
  const probe = Float32Array.from({ length: batch.size }, () => rng.uniform() * 2 - 1);
  const { names, shapes, inputs, analytic, z32 } = probeGradients(m, batch, probe);
  const f = (xs: Float64Array[]): Float64Array => reference(new Map(names.map((n, i) => [n, xs[i]!])), shapes);
  const z64 = f(inputs);
  for (let i = 0; i < batch.size; i++) assert.ok(Math.abs(z64[i]! - z32[i]!) < 1e-5, `row ${i}: model ${z32[i]} vs float64 ${z64[i]}`);
  assertGradcheck((xs) => f(xs).reduce((s, v, i) => s + v * probe[i]!, 0), inputs, analytic, { eps: 1e-5, atol: 2e-4, rtol: 2e-3 }, label);
  for (const prefix of prefixes) {
    assert.ok(names.some((n, i) => n.startsWith(prefix) && analytic[i]!.some((v) => Math.abs(v) > 1e-4)), prefix);
  }
  return names;
}

/**
 * Each of `keys` (a model section's group lists) naming a group the data lacks is a config error
 * naming the key, its index and the data's groups: when the model is built over a fitted schema
 * (`build`) and when an experiment config over data with these `fields` is parsed.
 */
export function assertMissingGroupErrors(
  build: (input: ModelConfigInput) => unknown, input: ModelConfigInput, fields: readonly object[], keys: readonly string[], groups: readonly string[],
): void {
  const known = groups.join(', ');
  for (const key of keys) {
    const named = (input as Record<string, unknown>)[key] as string[];
    const bad = { ...input, [key]: [...named, 'nope'] } as ModelConfigInput;
    const at = `model.${key}[${named.length}]: no feature group "nope"`;
    assert.throws(() => build(bad), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${at} (groups: ${known})`), at);
    assert.throws(() => parseExperimentConfig({
      data: { source: { format: 'csv', path: 'd.csv' }, labels: [{ name: 'y' }], fields: fields.map((f) => ({ ...f })) },
      model: bad, train: { epochs: 1, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 } }, output: 'out',
    }, 'c.yaml'), (e: unknown) => e instanceof ConfigError && e.message.includes(`c.yaml: ${at} in data.fields (groups: ${known})`), `c.yaml: ${at}`);
  }
}

/** Rows [from, to) of `ds` as one batch. */
export function rowsBatch(ds: Dataset, from: number, to: number): Batch {
  return new RowGatherer(ds).gather(Int32Array.from({ length: ds.numRows }, (_, i) => i), from, to);
}

/** Copies row `from` of `source`'s columns of `features` (ids and dense values) into row `to` of `target`. */
export function copyColumns(target: Batch, to: number, source: Batch, from: number, features: readonly FeatureInfo[]): void {
  for (const f of features) {
    if (f.kind === 'id') target.ids[to * target.numFields + f.index] = source.ids[from * source.numFields + f.index]!;
    if (f.kind === 'dense') target.dense![to * target.denseDim! + f.index] = source.dense![from * source.denseDim! + f.index]!;
  }
}

/** The rows of a CSV (its click in column y) under `fields`, built as a training run builds them. */
export async function groupData(csv: string, fields: readonly Record<string, unknown>[]): Promise<{ ds: Dataset; fitted: FittedSchema }> {
  const { dataset: ds, fitted } = await buildDataset(dataConfig({
    source: { format: 'csv', path: 'd.csv' }, labels: [{ name: 'click', column: 'y' }], fields: fields.map((f) => ({ ...f })),
  }), tempFiles({ 'd.csv': csv }));
  return { ds, fitted };
}

/** The group model of `input` over the test data's features (2 dense columns, 1 sequence), and the dims it was built with. */
export function groupModel<M extends CTRModel>(input: ModelConfigInput, fitted: FittedSchema, ds: Dataset, seed = 3): { model: M; dims: ModelDims } {
  const dims = { numIds: ds.numIds, numFields: ds.numFields, denseDim: 2, numSequences: 1, features: fitted.features() };
  return { model: createModel(parseModelConfig(input), dims, seed) as M, dims };
}
