/** Multi-task method configs: every type builds its method; bad settings are one-line ConfigErrors naming the key. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/schema/errors.js';
import { MULTITASK_TYPES, createMultiTaskMethod, parseMultiTaskConfig } from '../../../src/train/multitask/registry.js';

const ctx = { taskNames: ['ctr', 'cvr'], weights: [1, 1], seed: 1, lastSharedLayer: ['bottom.layers.1.W', 'bottom.layers.1.b'] };

function fails(raw: unknown, message: string | RegExp, c = ctx): void {
  assert.throws(() => createMultiTaskMethod(parseMultiTaskConfig(raw), c), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `ConfigError expected, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('multi-task registry', () => {
  it('builds every type, with its level', () => {
    const level: Record<string, string> = { static: 'loss', uw: 'loss', dwa: 'loss', gradnorm: 'gradient', 'pe-ltr': 'gradient', pcgrad: 'gradient', gradvac: 'gradient' };
    for (const type of MULTITASK_TYPES) {
      const m = createMultiTaskMethod(parseMultiTaskConfig({ type }), ctx);
      assert.equal(m.name, type);
      assert.equal(m.level, level[type]);
    }
    const full = [
      { type: 'uw', lr: 0.05 }, { type: 'dwa', temperature: 1 }, { type: 'gradnorm', alpha: 0.5, lr: 0.02 },
      { type: 'pe-ltr', minWeights: [0.2, 0.1] }, { type: 'pe-ltr', minWeights: 0.25 },
      { type: 'pcgrad', split: 'tensor' }, { type: 'pcgrad', split: 'chunk', chunkSize: 64 }, { type: 'gradvac', split: 'chunk', chunkSize: 8, beta: 0.1 },
    ];
    for (const raw of full) assert.equal(createMultiTaskMethod(parseMultiTaskConfig(raw), ctx).name, raw.type);
    // 0.33 + 0.56 + 0.11 is 1.0000000000000002 in float64: bounds that sum to 1 on paper are accepted.
    const three = { ...ctx, taskNames: ['a', 'b', 'c'], weights: [1, 1, 1] };
    assert.equal(createMultiTaskMethod(parseMultiTaskConfig({ type: 'pe-ltr', minWeights: [0.33, 0.56, 0.11] }), three).name, 'pe-ltr');
  });
  it('names the key of a bad setting', () => {
    fails({ type: 'mgda' }, 'train.multitask.type: expected one of static, uw, dwa, gradnorm, pe-ltr, pcgrad, gradvac, got "mgda"');
    fails({}, 'train.multitask.type: expected one of static, uw, dwa, gradnorm, pe-ltr, pcgrad, gradvac (missing)');
    fails('pcgrad', "train.multitask: expected an object with a 'type' field");
    fails({ type: 'pcgrad', beta: 0.1 }, "train.multitask.beta: not a setting of multi-task method 'pcgrad'");
    fails({ type: 'pcgrad', chunkSize: 10 }, "train.multitask.chunkSize: chunkSize applies to split 'chunk' only");
    fails({ type: 'gradvac', split: 'rows' }, /^train\.multitask\.split: /);
    fails({ type: 'gradvac', beta: 0 }, /^train\.multitask\.beta: /);
    fails({ type: 'uw', lr: -1 }, /^train\.multitask\.lr: /);
    fails({ type: 'pe-ltr', minWeights: [0.1] }, 'train.multitask.minWeights: 1 values for 2 tasks (ctr, cvr)');
    fails({ type: 'pe-ltr', minWeights: 0.6 }, 'train.multitask.minWeights: the bounds sum to 1.2; weights sum to 1, so the bounds must sum to at most 1');
    fails({ type: 'gradnorm' }, /^train\.multitask\.type: gradnorm needs a last shared layer/, { ...ctx, lastSharedLayer: [] });
  });
  it('uses the caller\'s location in messages', () => {
    assert.throws(() => parseMultiTaskConfig({ type: 'x' }, 'cfg.yaml: train.multitask'), /^ConfigError: cfg\.yaml: train\.multitask\.type: /);
  });
});
