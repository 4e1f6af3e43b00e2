import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Parameter } from '../../src/tensor/tensor.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam, AdamW } from '../../src/optim/adam.js';
import { AdaGrad } from '../../src/optim/adagrad.js';
import { clipGradNorm } from '../../src/optim/clip.js';
import { assertClose } from '../helpers/close.js';
import { testBackends, withBackend } from '../helpers/backends.js';

const param = (vals: number[]): Parameter => new Parameter('p', Float32Array.from(vals), [vals.length]);

for (const k of testBackends()) {
  describe(`dense optimisers (${k.name})`, () => {
    it('SGD with Nesterov momentum and weight decay, two steps by hand', () => withBackend(k, () => {
      const p = param([1, -2]);
      const opt = new SGD([{ params: [p] }], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 });
      const g = [0.5, 1];
      // step 1: d = g + wd·p = [0.51, 0.98]; buf = d; update = d + 0.9·buf = 1.9·d
      p.grad.set(g);
      opt.step();
      const p1 = [1 - 0.1 * 1.9 * 0.51, -2 - 0.1 * 1.9 * 0.98];
      assertClose(p.data, p1, 1e-6, 1e-6);
      // step 2: d = g + wd·p1; buf = 0.9·buf + d; update = d + 0.9·buf
      p.grad.set(g);
      opt.step();
      const expected = p1.map((v, i) => {
        const d1 = [0.51, 0.98][i]!;
        const d = g[i]! + 0.01 * v;
        const buf = 0.9 * d1 + d;
        return v - 0.1 * (d + 0.9 * buf);
      });
      assertClose(p.data, expected, 1e-6, 1e-6);
    }));

    it('Adam and AdamW against the PyTorch formulas; groups keep their own lr', () => withBackend(k, () => {
      const a = param([0.5]);
      const b = param([0.5]);
      const opt = new Adam([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1 });
      const w = param([2]);
      const optW = new AdamW([{ params: [w] }], { lr: 0.1, weightDecay: 0.1 });
      let m = 0;
      let v = 0;
      let pa = 0.5;
      let pb = 0.5;
      let pw = 2;
      let mw = 0;
      let vw = 0;
      for (let t = 1; t <= 3; t++) {
        const g = 0.3 * t;
        a.grad[0] = g;
        b.grad[0] = g;
        opt.step();
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        const bc1 = 1 - 0.9 ** t;
        const bc2 = 1 - 0.999 ** t;
        pa -= (0.1 / bc1) * (m / (Math.sqrt(v) / Math.sqrt(bc2) + 1e-8));
        pb -= (0.01 / bc1) * (m / (Math.sqrt(v) / Math.sqrt(bc2) + 1e-8));
        w.grad[0] = g;
        optW.step();
        pw *= 1 - 0.1 * 0.1;
        mw = 0.9 * mw + 0.1 * g;
        vw = 0.999 * vw + 0.001 * g * g;
        pw -= (0.1 / bc1) * (mw / (Math.sqrt(vw) / Math.sqrt(bc2) + 1e-8));
      }
      assertClose(a.data, [pa], 1e-6, 1e-5);
      assertClose(b.data, [pb], 1e-6, 1e-5);
      assertClose(w.data, [pw], 1e-6, 1e-5);
    }));

    it('AdaGrad honours the initial accumulator', () => withBackend(k, () => {
      const p = param([1]);
      const opt = new AdaGrad([{ params: [p] }], { lr: 0.5, initialAccumulator: 0.1, eps: 1e-10 });
      p.grad[0] = 2;
      opt.step();
      assertClose(p.data, [1 - (0.5 * 2) / Math.sqrt(0.1 + 4)], 1e-6, 1e-6);
    }));

    it('state save / restore continues bit for bit', () => withBackend(k, () => {
      const run = (opt: Adam, p: Parameter, steps: number): void => {
        for (let s = 0; s < steps; s++) {
          for (let i = 0; i < p.size; i++) p.grad[i] = Math.sin(opt.stepCount * 3 + i);
          opt.step();
        }
      };
      const p = param([0.1, 0.2, 0.3]);
      const opt = new Adam([{ params: [p] }], { lr: 0.05 });
      run(opt, p, 3);
      const saved = opt.saveState();
      const savedP = p.data.slice();
      run(opt, p, 4);
      const direct = p.data.slice();
      const p2 = param(Array.from(savedP));
      const opt2 = new Adam([{ params: [p2] }], { lr: 0.05 });
      opt2.loadState(saved);
      run(opt2, p2, 4);
      assert.deepEqual(Array.from(p2.data), Array.from(direct));
    }));

    it('clipGradNorm scales dense gradients to the max norm', () => withBackend(k, () => {
      const p = param([0, 0]);
      p.grad.set([3, 4]);
      const n = clipGradNorm([p], [], 1);
      assert.equal(n, 5);
      assertClose(p.grad, [0.6, 0.8], 1e-7, 1e-6);
    }));
  });
}
