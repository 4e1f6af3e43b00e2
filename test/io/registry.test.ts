import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, parseModelConfig } from '../../src/models/registry.js';

describe('model registry', () => {
  it('fills documented defaults', () => {
    assert.deepEqual(parseModelConfig({ type: 'dnn' }), {
      type: 'dnn', dim: 16, hidden: [400, 400, 400], activation: 'relu', smeluBeta: 1, dropout: 0, initStd: 1e-4,
    });
    assert.deepEqual(parseModelConfig({ type: 'dcnv2', crossRank: 8 }), {
      type: 'dcnv2', dim: 16, hidden: [400, 400, 400], activation: 'relu', dropout: 0, crossLayers: 3, crossRank: 8,
      structure: 'parallel', initStd: 1e-4,
    });
    assert.deepEqual(parseModelConfig({ type: 'lr' }), { type: 'lr', initStd: 1e-4 });
    assert.deepEqual(parseModelConfig({ type: 'fm', dim: 8 }), { type: 'fm', dim: 8, initStd: 1e-4 });
  });

  it('dcnv2 takes the Google settings (rank, smeluBeta, crossRamp, rezero) only when written', () => {
    const g = { type: 'dcnv2', activation: 'smelu', smeluBeta: 0.5, rank: 32, crossRank: 16, crossRamp: 1000, rezero: true } as const;
    assert.deepEqual(parseModelConfig(g), {
      ...g, dim: 16, hidden: [400, 400, 400], dropout: 0, crossLayers: 3, structure: 'parallel', initStd: 1e-4,
    });
    assert.throws(() => parseModelConfig({ type: 'dcnv2', crossRamp: 0 }), { message: /^model\.crossRamp: Too small/ });
    assert.throws(() => parseModelConfig({ type: 'dcnv2', crossRamp: 2.5 }), { message: /^model\.crossRamp: / });
    assert.throws(() => parseModelConfig({ type: 'dcnv2', rezero: 'yes' }), { message: /^model\.rezero: / });
    assert.throws(() => parseModelConfig({ type: 'dnn', crossRamp: 10 }), { message: "model.crossRamp: not a setting of model type 'dnn'" });
    assert.throws(() => parseModelConfig({ type: 'dnn', rezero: true }), { message: "model.rezero: not a setting of model type 'dnn'" });
  });

  it('a resolved config parses to itself', () => {
    const c = parseModelConfig({ type: 'dcnv2', structure: 'stacked', hidden: [8] });
    assert.deepEqual(parseModelConfig(JSON.parse(JSON.stringify(c))), c);
  });

  it('gives readable errors', () => {
    assert.throws(() => parseModelConfig({ type: 'xgboost' }), { message: 'model.type: expected one of lr, fm, dnn, dcnv2, din, twotower, qu, shared-bottom, mmoe, ple, snr, esmm, got "xgboost"' });
    assert.throws(() => parseModelConfig({}), { message: 'model.type: expected one of lr, fm, dnn, dcnv2, din, twotower, qu, shared-bottom, mmoe, ple, snr, esmm (missing)' });
    assert.throws(() => parseModelConfig('dnn', 'exp.yaml: model'), { message: "exp.yaml: model: expected an object with a 'type' field" });
    assert.throws(() => parseModelConfig({ type: 'dnn', activation: 'gelu' }), { message: 'model.activation: expected one of relu, sigmoid, tanh, smelu, none' });
    assert.throws(() => parseModelConfig({ type: 'dnn', crossLayers: 2 }), { message: "model.crossLayers: not a setting of model type 'dnn'" });
    assert.throws(() => parseModelConfig({ type: 'dnn', hidden: [64, 0] }), { message: /^model\.hidden\.1: Too small/ });
    assert.throws(() => parseModelConfig({ type: 'dcnv2', dropout: 1 }), { message: /^model\.dropout: / });
  });

  it('creates each model type with the requested architecture, deterministically per seed', () => {
    const dims = { numIds: 50, numFields: 5 };
    for (const type of ['lr', 'fm', 'dnn', 'dcnv2'] as const) {
      const cfg = parseModelConfig({ type, ...(type === 'lr' ? {} : { dim: 4 }), ...(type === 'dnn' || type === 'dcnv2' ? { hidden: [8] } : {}) });
      const a = createModel(cfg, dims, 1);
      const b = createModel(cfg, dims, 1);
      assert.equal(a.kind, type);
      assert.deepEqual(a.stateDict(), b.stateDict());
    }
    const dcn = createModel(parseModelConfig({ type: 'dcnv2', dim: 2, hidden: [3], crossLayers: 2, crossRank: 1 }), dims, 1);
    assert.deepEqual(dcn.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`).filter((s) => s.startsWith('cross.layers.1')),
      ['cross.layers.1.U:10x1', 'cross.layers.1.V:1x10', 'cross.layers.1.b:10']);
    assert.throws(() => createModel(parseModelConfig({ type: 'dnn' }), { numIds: 10 }, 1), /'dnn' needs numFields/);
  });
});
