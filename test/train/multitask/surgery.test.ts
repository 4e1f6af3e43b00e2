/**
 * PCGrad and GradVac against the textbook definition on dense vectors: on a tiny model with an
 * embedding table, each task's gradient is taken by an ordinary backward and the table's
 * gradient densified (numRows × dim, test only); the formula is applied to those vectors in
 * float64, split the same way, and the result must equal the sparse path's (which only ever sees
 * the touched rows) element by element — and be zero on the rows no task touched.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endStep } from '../../../src/autograd/tape.js';
import { taskGradients } from '../../../src/autograd/taskGradients.js';
import type { GradientBlock } from '../../../src/autograd/taskGradients.js';
import type { GradientLevelMethod } from '../../../src/train/multitask/method.js';
import { Rng } from '../../../src/util/random.js';
import { PCGrad } from '../../../src/train/multitask/pcgrad.js';
import { GradVac } from '../../../src/train/multitask/gradVac.js';
import type { Split } from '../../../src/train/multitask/segments.js';
import { taskOrders } from '../../../src/train/multitask/taskOrder.js';
import { TinyMultiTask, denseGradients, tinyBatch } from '../../helpers/tinyMultiTask.js';
import { testBackends, withBackend } from '../../helpers/backends.js';

const T = 3;
const SEED = 11;
const CHUNK = 5;
/** The tensors all three tasks reach (the textbook's θ_shared); the rest are task-specific. */
const SHARED = ['shared.W', 'shared.b', 'emb'];

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, k) => s + v * b[k]!, 0);
const axpy = (y: Float64Array, a: number, x: Float64Array): void => x.forEach((v, k) => (y[k] = y[k]! + a * v));

/** Textbook PCGrad on whole vectors. */
function pcgradDense(g: Float64Array[], orders: Int32Array[]): { out: Float64Array; conflicts: number } {
  const out = new Float64Array(g[0]!.length);
  let conflicts = 0;
  g.forEach((gi0, i) => {
    const gi = Float64Array.from(gi0);
    for (const j of orders[i]!) {
      const d = dot(gi, g[j]!);
      if (d < 0) {
        axpy(gi, -d / dot(g[j]!, g[j]!), g[j]!);
        conflicts++;
      }
    }
    axpy(out, 1, gi);
  });
  return { out, conflicts };
}

/** Textbook GradVac on whole vectors; returns the cosines seen (ordered pair i·T+j) for the EMA. */
function gradvacDense(g: Float64Array[], orders: Int32Array[], target: Float64Array): { out: Float64Array; phis: Map<number, number>; corrections: number } {
  const out = new Float64Array(g[0]!.length);
  const phis = new Map<number, number>();
  let corrections = 0;
  g.forEach((gi0, i) => {
    const gi = Float64Array.from(gi0);
    for (const j of orders[i]!) {
      const ni = Math.sqrt(dot(gi, gi)), nj = Math.sqrt(dot(g[j]!, g[j]!));
      if (ni === 0 || nj === 0) continue;
      const phi = dot(gi, g[j]!) / (ni * nj);
      const goal = target[i * T + j]!;
      if (phi < goal) {
        axpy(gi, (ni * (goal * Math.sqrt(1 - phi * phi) - phi * Math.sqrt(1 - goal * goal))) / (nj * Math.sqrt(1 - goal * goal)), g[j]!);
        if (goal !== 0) corrections++;
      }
      phis.set(i * T + j, phi);
    }
    axpy(out, 1, gi);
  });
  return { out, phis, corrections };
}

/** The dense sub-vectors of a split: [slot, tensor name, start, end] over the densified tensors. */
function denseSegments(split: Split, sizes: Map<string, number>, tableDim: number): [string, [string, number, number][]][] {
  if (split === 'none') return [['*', SHARED.map((n) => [n, 0, sizes.get(n)!] as [string, number, number])]];
  if (split === 'tensor') return SHARED.map((n) => [n, [[n, 0, sizes.get(n)!]]]);
  const out: [string, [string, number, number][]][] = [];
  for (const n of SHARED) {
    const size = sizes.get(n)!;
    const step = n === 'emb' ? tableDim : CHUNK;
    for (let s = 0, k = 0; s < size; s += step, k++) out.push([n === 'emb' ? 'emb' : `${n}[${k}]`, [[n, s, Math.min(size, s + step)]]]);
  }
  return out;
}

/**
 * Runs 3 steps of `method` (sparse path) and of the dense reference side by side, on a different
 * batch each step, and compares every tensor's combined gradient. Returns how many corrections
 * the reference made (PCGrad: projections; GradVac: corrections towards a non-zero target).
 */
function compare(split: Split, make: () => GradientLevelMethod, dense: 'pcgrad' | 'gradvac', beta = 0): number {
  const model = new TinyMultiTask(7);
  const method = make();
  const targets = new Map<string, Float64Array>();
  let conflicts = 0;
  for (let step = 0; step < 3; step++) {
    const batch = tinyBatch(24, 100 + step);
    const perTask = model.heads.map((_, t) => denseGradients(model, () => model.losses(batch)[t]!));
    const sizes = new Map([...perTask[0]!].map(([n, g]) => [n, g.length]));
    const orders = taskOrders(T, SEED, step);
    const expected = new Map<string, Float64Array>();
    for (const [n, size] of sizes) if (!SHARED.includes(n)) expected.set(n, perTask.map((g) => g.get(n)!).reduce((acc, g) => (axpy(acc, 1, g), acc), new Float64Array(size)));
    for (const n of SHARED) expected.set(n, new Float64Array(sizes.get(n)!));
    const seen = new Map<string, Map<number, number[]>>();
    for (const [slot, spans] of denseSegments(split, sizes, model.emb.dim)) {
      const vec = perTask.map((g) => {
        const parts = spans.map(([n, s, e]) => g.get(n)!.subarray(s, e));
        const v = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
        let o = 0;
        for (const p of parts) (v.set(p, o), (o += p.length));
        return v;
      });
      let out: Float64Array;
      if (dense === 'pcgrad') {
        const r = pcgradDense(vec, orders);
        out = r.out;
        conflicts += r.conflicts;
      } else {
        if (!targets.has(slot)) targets.set(slot, new Float64Array(T * T));
        const r = gradvacDense(vec, orders, targets.get(slot)!);
        out = r.out;
        conflicts += r.corrections;
        if (!seen.has(slot)) seen.set(slot, new Map());
        for (const [p, phi] of r.phis) seen.get(slot)!.set(p, [...(seen.get(slot)!.get(p) ?? []), phi]);
      }
      let o = 0;
      for (const [n, s, e] of spans) {
        expected.get(n)!.set(out.subarray(o, o + e - s), s);
        o += e - s;
      }
    }
    for (const [slot, pairs] of seen) {
      const t = targets.get(slot)!;
      for (const [p, phis] of pairs) t[p] = (1 - beta) * t[p]! + (beta * phis.reduce((a, b) => a + b, 0)) / phis.length;
    }

    const grads = taskGradients(model.losses(batch), model.namedParameters(), model.namedTables());
    const blocks = grads.blocks;
    const combined = method.combine(blocks, { step, losses: [0, 0, 0] });
    const checked = new Set<string>();
    blocks.forEach((b, bi) => {
      const want = expected.get(b.name)!;
      const got = new Float64Array(want.length);
      if (b.rows) b.rows.forEach((r, i) => got.set(combined[bi]!.subarray(i * b.width, (i + 1) * b.width), r * b.width));
      else got.set(combined[bi]!);
      const scale = Math.max(...want.map(Math.abs));
      want.forEach((w, k) => assert.ok(Math.abs(got[k]! - w) <= 1e-6 * scale + 1e-9, `step ${step} ${split} ${b.name}[${k}]: sparse ${got[k]} vs dense ${w}`));
      checked.add(b.name);
    });
    for (const [n, want] of expected) if (!checked.has(n)) assert.ok(want.every((v) => v === 0), `${n} has no block, so its dense result must be zero`);
    endStep();
  }
  return conflicts;
}

/** Long tensors (past segments.ts's kernel threshold) go through the backend's dot/affine/axpy. */
function compareLong(split: Split): number {
  const rng = new Rng(5);
  const sizes = [9000, 4096, 300];
  const perTask = Array.from({ length: T }, (_, t) => sizes.map((n) => {
    const g = new Float32Array(n);
    // Task 1 leans against task 0 on the first tensor, so that projections happen.
    for (let k = 0; k < n; k++) g[k] = rng.normal() + (t === 1 && n === 9000 ? -0.5 : t === 0 && n === 9000 ? 0.5 : 0);
    return g;
  }));
  const orders = taskOrders(T, SEED, 0);
  const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);
  const expected = split === 'none'
    ? (() => {
      const cat = perTask.map((gs) => f64(Float32Array.from(gs.flatMap((g) => Array.from(g)))));
      const r = pcgradDense(cat, orders);
      let o = 0;
      return { conflicts: r.conflicts, out: sizes.map((n) => r.out.slice(o, (o += n))) };
    })()
    : (() => {
      let conflicts = 0;
      const out = sizes.map((_, i) => {
        const r = pcgradDense(perTask.map((gs) => f64(gs[i]!)), orders);
        conflicts += r.conflicts;
        return r.out;
      });
      return { conflicts, out };
    })();
  const blocks: GradientBlock[] = sizes.map((_, i) => ({ name: `w${i}`, width: 1, grads: perTask.map((gs) => gs[i]!.slice()), tasks: [0, 1, 2] }));
  const got = new PCGrad(T, SEED, { split, chunkSize: CHUNK }).combine(blocks, { step: 0, losses: [0, 0, 0] });
  got.forEach((g, i) => {
    const want = expected.out[i]!;
    const scale = Math.max(...want.map(Math.abs));
    want.forEach((w, k) => assert.ok(Math.abs(g[k]! - w) <= 1e-5 * scale, `${split} w${i}[${k}]: ${g[k]} vs dense ${w}`));
  });
  return expected.conflicts;
}

for (const k of testBackends()) {
  describe(`PCGrad on long tensors (kernel path) == dense textbook definition (${k.name})`, () => {
    for (const split of ['none', 'tensor'] as const) {
      it(`split ${split}`, () => withBackend(k, () => assert.ok(compareLong(split) > 0, 'the vectors must conflict, or the test proves nothing')));
    }
  });

  describe(`PCGrad: sparse block path == dense textbook definition (${k.name})`, () => {
    for (const split of ['none', 'tensor', 'chunk'] as const) {
      it(`split ${split}`, () => withBackend(k, () => {
        const conflicts = compare(split, () => new PCGrad(T, SEED, { split, chunkSize: CHUNK }), 'pcgrad');
        assert.ok(conflicts > 0, 'the batches must produce conflicts, or the test proves nothing');
      }));
    }
  });

  describe(`GradVac: sparse block path == dense textbook definition, EMA targets over 3 steps (${k.name})`, () => {
    for (const split of ['none', 'tensor', 'chunk'] as const) {
      it(`split ${split}`, () => withBackend(k, () => {
        const corrections = compare(split, () => new GradVac(T, SEED, { split, chunkSize: CHUNK }, 0.5), 'gradvac', 0.5);
        assert.ok(corrections > 0, 'some corrections must aim at a non-zero target, or the EMA is untested');
      }));
    }
  });
}
