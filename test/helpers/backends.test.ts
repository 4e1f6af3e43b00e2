import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backend, referenceKernels } from '../../src/backend/index.js';
import { testBackends, withBackend } from './backends.js';

describe('withBackend', () => {
  it('an async callback runs on the chosen backend after its awaits; the reference one is restored when it settles', async (t) => {
    const last = testBackends().at(-1)!;
    if (last === referenceKernels) return t.skip('native addon not built');
    const seen = await withBackend(last, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return backend();
    });
    assert.equal(seen, last);
    assert.equal(backend(), referenceKernels);
    assert.throws(() => withBackend(last, () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(backend(), referenceKernels);
    await assert.rejects(withBackend(last, async () => Promise.reject(new Error('later'))), /later/);
    assert.equal(backend(), referenceKernels);
  });
});
