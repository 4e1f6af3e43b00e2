import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, parseOptimizerConfig } from '../../src/optim/registry.js';
import { DNN } from '../../src/models/dnn.js';
import { SGD } from '../../src/optim/sgd.js';
import { AdaGrad } from '../../src/optim/adagrad.js';
import { AdamW } from '../../src/optim/adam.js';
import { Shampoo } from '../../src/optim/shampoo.js';

describe('optimizer registry', () => {
  const model = new DNN({ numIds: 20, numFields: 2, dim: 2, hidden: [4], seed: 1 });

  it('builds each type with dense and table groups and keeps the optimisers defaults', () => {
    const sgd = createOptimizer(parseOptimizerConfig({ type: 'sgd', lr: 0.1, embeddingLr: 0.5 }), model);
    assert.ok(sgd instanceof SGD);
    assert.equal(sgd.groups[0]!.options.momentum, 0);
    assert.equal(sgd.groups[0]!.params.length, model.parameters().length);
    assert.equal(sgd.groups[1]!.tables.length, 1);
    assert.equal(sgd.groups[1]!.options.lr, 0.5);
    const ada = createOptimizer(parseOptimizerConfig({ type: 'adagrad', lr: 0.01, rowwise: true }), model);
    assert.ok(ada instanceof AdaGrad);
    assert.equal(ada.groups[0]!.options.eps, 1e-10);
    assert.equal(ada.groups[1]!.options.rowwise, true);
    const adamw = createOptimizer(parseOptimizerConfig({ type: 'adamw', lr: 0.001 }), model);
    assert.ok(adamw instanceof AdamW);
    assert.equal(adamw.groups[0]!.options.weightDecay, 0.01);
    const shampoo = createOptimizer(parseOptimizerConfig({
      type: 'shampoo', lr: 0.01, embeddingLr: 0.05, beta2: 0.999, momentum: 0.9, nesterov: false, eps: 1e-8, matrixEps: 1e-5,
      blockSize: 64, precondEvery: 50, startStep: 10, grafting: 'adagrad',
    }), model);
    assert.ok(shampoo instanceof Shampoo);
    assert.deepEqual(
      [shampoo.groups[0]!.options, shampoo.groups[1]!.options].map(({ lr, beta2, momentum, nesterov, eps, matrixEps, blockSize, precondEvery, startStep }) =>
        ({ lr, beta2, momentum, nesterov, eps, matrixEps, blockSize, precondEvery, startStep })),
      [0.01, 0.05].map((lr) => ({ lr, beta2: 0.999, momentum: 0.9, nesterov: false, eps: 1e-8, matrixEps: 1e-5, blockSize: 64, precondEvery: 50, startStep: 10 })));
    const plainOpt = createOptimizer(parseOptimizerConfig({ type: 'shampoo', lr: 0.01 }), model);
    assert.ok(plainOpt instanceof Shampoo);
    const plain = plainOpt.groups[0]!.options;
    assert.deepEqual([plain.blockSize, plain.precondEvery, plain.startStep, plain.beta2, plain.momentum], [128, 100, 1, 1, 0]);
  });

  it('names the offending key', () => {
    assert.throws(() => parseOptimizerConfig({ type: 'rmsprop', lr: 1 }), /^ConfigError: train\.optimizer\.type: /);
    assert.throws(() => parseOptimizerConfig({ type: 'adam', lr: -1 }), /train\.optimizer\.lr/);
    assert.throws(() => parseOptimizerConfig({ type: 'adam', lr: 1, betas: [0.9] }), /train\.optimizer/);
  });

  it("refuses another optimiser's settings, naming the key and the type", () => {
    const bad = (cfg: object, message: string): void => assert.throws(() => parseOptimizerConfig(cfg), { name: 'ConfigError', message });
    bad({ type: 'adam', lr: 0.1, momentum: 0.9 }, "train.optimizer.momentum: not a setting of optimizer type 'adam'");
    bad({ type: 'adamw', lr: 0.1, rowwise: true }, "train.optimizer.rowwise: not a setting of optimizer type 'adamw'");
    bad({ type: 'sgd', lr: 0.1, beta2: 0.99 }, "train.optimizer.beta2: not a setting of optimizer type 'sgd'");
    bad({ type: 'sgd', lr: 0.1, eps: 1e-8 }, "train.optimizer.eps: not a setting of optimizer type 'sgd'");
    bad({ type: 'adagrad', lr: 0.1, nesterov: true }, "train.optimizer.nesterov: not a setting of optimizer type 'adagrad'");
    bad({ type: 'sgd', lr: 0.1, nesterov: true }, 'train.optimizer.nesterov: Nesterov momentum needs momentum > 0');
    bad({ lr: 0.1 }, 'train.optimizer.type: expected one of sgd, adagrad, adam, adamw, shampoo (missing)');
    bad({ type: 'shampoo', lr: 0.1, betas: [0.9, 1] }, "train.optimizer.betas: not a setting of optimizer type 'shampoo'");
    bad({ type: 'shampoo', lr: 0.1, rowwise: true }, "train.optimizer.rowwise: not a setting of optimizer type 'shampoo'");
    bad({ type: 'shampoo', lr: 0.1, nesterov: true }, 'train.optimizer.nesterov: Nesterov momentum needs momentum > 0');
    assert.throws(() => parseOptimizerConfig({ type: 'shampoo', lr: 0.1, grafting: 'sgd' }), /^ConfigError: train\.optimizer\.grafting: /);
    assert.throws(() => parseOptimizerConfig({ type: 'shampoo', lr: 0.1, blockSize: 1.5 }), /^ConfigError: train\.optimizer\.blockSize: /);
    assert.throws(() => parseOptimizerConfig({ type: 'shampoo', lr: 0.1, beta2: 0 }), /^ConfigError: train\.optimizer\.beta2: /);
    assert.doesNotThrow(() => parseOptimizerConfig({ type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4, embeddingLr: 0.5 }));
  });

  it('weight decay applies to the dense parameters; the sparsely updated tables say they take none', () => {
    for (const cfg of [{ type: 'adamw', lr: 0.001 }, { type: 'adam', lr: 0.001, weightDecay: 0.1 }, { type: 'sgd', lr: 0.1, weightDecay: 0.1 }, { type: 'adagrad', lr: 0.1, weightDecay: 0.1 }, { type: 'shampoo', lr: 0.1, weightDecay: 0.1 }]) {
      const opt = createOptimizer(parseOptimizerConfig(cfg), model);
      assert.ok(opt.groups[0]!.options.weightDecay! > 0, `${cfg.type} dense`);
      assert.equal(opt.groups[1]!.options.weightDecay, 0, `${cfg.type} tables`);
    }
  });
});
