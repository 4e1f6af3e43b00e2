import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { add, mul } from '../../src/autograd/ops/elementwise.js';
import { reducePending } from '../../src/autograd/ops/embedding.js';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { beginRandomStep, stepSeed } from '../../src/autograd/stepRandom.js';
import { backward, endStep, noGrad } from '../../src/autograd/tape.js';
import type { Batch } from '../../src/data/batch.js';
import { loadModel, saveModel } from '../../src/io/modelFile.js';
import { MultiTaskModel } from '../../src/models/ctrModel.js';
import { ESMM, productLogit } from '../../src/models/esmm.js';
import { MMoE } from '../../src/models/mmoe.js';
import { PLE } from '../../src/models/ple.js';
import { createModel, parseModelConfig, type ModelConfigInput, type ModelDims } from '../../src/models/registry.js';
import { SharedBottom } from '../../src/models/sharedBottom.js';
import { SNR } from '../../src/models/snr.js';
import { HARD_CONCRETE_GAMMA, HARD_CONCRETE_ZETA, logisticNoise } from '../../src/nn/hardConcrete.js';
import type { GradientLevelMethod } from '../../src/train/multitask/method.js';
import { StaticWeights } from '../../src/train/multitask/staticWeights.js';
import { Adam } from '../../src/optim/adam.js';
import { createOptimizer, parseOptimizerConfig } from '../../src/optim/registry.js';
import { ConfigError } from '../../src/schema/errors.js';
import { Parameter, Tensor } from '../../src/tensor/tensor.js';
import { trainStep, trainTaskStep } from '../../src/train/step.js';
import { Rng } from '../../src/util/random.js';
import { testBackends, withBackend } from '../helpers/backends.js';
import { assertGradcheck } from '../helpers/gradcheck.js';
import { bits } from '../helpers/trainSteps.js';

// Three categorical fields (6 ids each), one sequence field (ids 18..23, 0–3 per row), two dense features.
const FIELDS = 3;
const DIM = 3;
const DIMS: ModelDims = { numIds: 24, numFields: FIELDS, denseDim: 2, numSequences: 1 };

function batch(size: number, seed: number): Batch {
  const r = new Rng(seed);
  const ids = Int32Array.from({ length: size * FIELDS }, (_, i) => (i % FIELDS) * 6 + r.int(6));
  const lens = Array.from({ length: size }, () => r.int(4));
  const offsets = Int32Array.from({ length: size + 1 }, (_, i) => lens.slice(0, i).reduce((a, b) => a + b, 0));
  const seq = Int32Array.from({ length: offsets[size]! }, () => 18 + r.int(6));
  const labels = Float32Array.from({ length: size }, () => (r.uniform() < 0.4 ? 1 : 0));
  return {
    size, numFields: FIELDS, ids, labels, sequences: [{ offsets, ids: seq }],
    dense: Float32Array.from({ length: size * 2 }, () => r.uniform() * 2 - 1), denseDim: 2,
  };
}

function build(input: ModelConfigInput, tasks?: string[], seed = 3): MultiTaskModel {
  const m = createModel(parseModelConfig(input), { ...DIMS, tasks }, seed);
  assert.ok(m instanceof MultiTaskModel);
  return m;
}

// ------------------------------------------------------------------ float64 reference, from the parameters by name
type Params = Map<string, Float64Array>;
type Shapes = Map<string, readonly number[]>;

/** x0 per row: field embeddings ‖ mean-pooled sequence ‖ dense. */
function input64(p: Params, b: Batch): Float64Array[] {
  const emb = p.get('input.emb.weight')!;
  const row = (id: number): number[] => Array.from({ length: DIM }, (_, d) => emb[id * DIM + d]!);
  return Array.from({ length: b.size }, (_, r) => {
    const x: number[] = [];
    for (let f = 0; f < FIELDS; f++) x.push(...row(b.ids[r * FIELDS + f]!));
    const { offsets, ids } = b.sequences![0]!;
    const n = offsets[r + 1]! - offsets[r]!;
    for (let d = 0; d < DIM; d++) {
      let s = 0;
      for (let j = offsets[r]!; j < offsets[r + 1]!; j++) s += emb[ids[j]! * DIM + d]!;
      x.push(n === 0 ? 0 : s / n);
    }
    x.push(b.dense![r * 2]!, b.dense![r * 2 + 1]!);
    return Float64Array.from(x);
  });
}

/** One linear layer `name` (W, or the low-rank U·V), tanh unless `linear`. */
function layer64(p: Params, shapes: Shapes, name: string, x: Float64Array, linear: boolean): Float64Array {
  const matvec = (v: Float64Array, W: Float64Array, [inD, outD]: readonly number[]): Float64Array =>
    Float64Array.from({ length: outD! }, (_, o) => v.reduce((s, vi, i) => s + vi * W[i * outD! + o]!, 0));
  const y = p.has(`${name}.W`)
    ? matvec(x, p.get(`${name}.W`)!, shapes.get(`${name}.W`)!)
    : matvec(matvec(x, p.get(`${name}.U`)!, shapes.get(`${name}.U`)!), p.get(`${name}.V`)!, shapes.get(`${name}.V`)!);
  const b = p.get(`${name}.b`)!;
  return y.map((v, o) => (linear ? v + b[o]! : Math.tanh(v + b[o]!)));
}

/** An MLP of `layers` layers, tanh throughout (an expert, a bottom) or with a linear last layer (a tower). */
function mlp64(p: Params, shapes: Shapes, prefix: string, x: Float64Array, layers: number, linearOut: boolean): Float64Array {
  for (let l = 0; l < layers; l++) x = layer64(p, shapes, `${prefix}.layers.${l}`, x, linearOut && l === layers - 1);
  return x;
}

/** Σ_k softmax(gate(x))_k · experts[k]. */
function gate64(p: Params, shapes: Shapes, prefix: string, x: Float64Array, experts: readonly Float64Array[]): Float64Array {
  const g = layer64(p, shapes, prefix, x, true);
  const m = Math.max(...g);
  const e = g.map((v) => Math.exp(v - m));
  const total = e.reduce((a, b) => a + b, 0);
  assert.equal(g.length, experts.length);
  return experts[0]!.map((_, d) => experts.reduce((s, f, k) => s + (e[k]! / total) * f[d]!, 0));
}

const sigmoid64 = (x: number): number => 1 / (1 + Math.exp(-x));

type Reference = (p: Params, shapes: Shapes, b: Batch) => Record<string, Float64Array>;

/** Per head, the logits of every row from a per-row function. */
function perRow(heads: readonly string[], b: Batch, x0: Float64Array[], f: (x: Float64Array) => number[]): Record<string, Float64Array> {
  const z = x0.map(f);
  return Object.fromEntries(heads.map((h, t) => [h, Float64Array.from(z, (zr) => zr[t]!)]));
}

const towers = 2; // tower [3] → 2 layers with the output layer

const sharedBottom64 = (tasks: readonly string[]): Reference => (p, s, b) => perRow(tasks, b, input64(p, b), (x) => {
  const h = mlp64(p, s, 'bottom', x, 2, false);
  return tasks.map((_, t) => mlp64(p, s, `towers.${t}`, h, towers, true)[0]!);
});

const mmoe64 = (tasks: readonly string[], K: number): Reference => (p, s, b) => perRow(tasks, b, input64(p, b), (x) => {
  const f = Array.from({ length: K }, (_, k) => mlp64(p, s, `experts.${k}`, x, 2, false));
  return tasks.map((_, t) => mlp64(p, s, `towers.${t}`, gate64(p, s, `gates.${t}`, x, f), towers, true)[0]!);
});

const ple64 = (tasks: readonly string[], levels: number, kt: number, ks: number): Reference => (p, s, b) => perRow(tasks, b, input64(p, b), (x) => {
  let xs = tasks.map(() => x);
  let shared = x;
  for (let l = 0; l < levels; l++) {
    const at = `levels.${l}`;
    const own = tasks.map((_, t) => Array.from({ length: kt }, (_, k) => mlp64(p, s, `${at}.taskExperts.${t}.${k}`, xs[t]!, 2, false)));
    const sh = Array.from({ length: ks }, (_, k) => mlp64(p, s, `${at}.sharedExperts.${k}`, shared, 2, false));
    const next = tasks.map((_, t) => gate64(p, s, `${at}.taskGates.${t}`, xs[t]!, [...own[t]!, ...sh]));
    if (l < levels - 1) shared = gate64(p, s, `${at}.sharedGate`, shared, [...own.flat(), ...sh]);
    xs = next;
  }
  return tasks.map((_, t) => mlp64(p, s, `towers.${t}`, xs[t]!, towers, true)[0]!);
});

/** ESMM with pCTCVR's logit taken the naive way, log(p / (1 − p)), fine in float64 at moderate logits. */
const esmm64: Reference = (p, s, b) => perRow(['ctr', 'cvr', 'ctcvr'], b, input64(p, b), (x) => {
  const a = mlp64(p, s, 'towers.0', mlp64(p, s, 'ctrBottom', x, 2, false), towers, true)[0]!;
  const c = mlp64(p, s, 'towers.1', mlp64(p, s, 'cvrBottom', x, 2, false), towers, true)[0]!;
  const q = sigmoid64(a) * sigmoid64(c);
  return [a, c, Math.log(q / (1 - q))];
});

/** The hard-concrete gates in float64: ẑ(log α) at evaluation, or with the given logistic noise in training. */
function gates64(logAlpha: Float64Array, beta: number, noise?: Float64Array): Float64Array {
  const clamp = (v: number): number => Math.min(1, Math.max(0, v));
  return logAlpha.map((a, k) => clamp(sigmoid64(noise ? (a + noise[k]!) / beta : a) * (HARD_CONCRETE_ZETA - HARD_CONCRETE_GAMMA) + HARD_CONCRETE_GAMMA));
}

/** λ · Σ_k σ(log α_k − β log(−γ/ζ)). */
const l0Penalty64 = (lambda: number, beta: number) => (p: Params): number =>
  lambda * p.get('gates.logAlpha')!.reduce((acc, a) => acc + sigmoid64(a - beta * Math.log(-HARD_CONCRETE_GAMMA / HARD_CONCRETE_ZETA)), 0);

/**
 * SNR with one-layer sub-networks: level 0 reads x0; each target (a sub-network above, then each
 * tower) reads the K outputs below through its K gates (target-major), concatenated (trans) or summed (aver).
 */
const snr64 = (tasks: readonly string[], variant: 'trans' | 'aver', K: number, levels: number, beta: number, noise?: Float64Array): Reference =>
  (p, s, b) => {
    const z = gates64(p.get('gates.logAlpha')!, beta, noise);
    return perRow(tasks, b, input64(p, b), (x) => {
      let k = 0;
      const route = (below: Float64Array[]): Float64Array => {
        const gated = below.map((u, j) => u.map((v) => v * z[k + j]!));
        k += below.length;
        return variant === 'trans' ? Float64Array.from(gated.flatMap((g) => [...g])) : gated.reduce((acc, g) => acc.map((v, d) => v + g[d]!));
      };
      let u = Array.from({ length: K }, (_, j) => mlp64(p, s, `levels.0.${j}`, x, 1, false));
      for (let l = 1; l < levels; l++) {
        const below = u;
        u = Array.from({ length: K }, (_, i) => mlp64(p, s, `levels.${l}.${i}`, route(below), 1, false));
      }
      return tasks.map((_, t) => mlp64(p, s, `towers.${t}`, route(u), towers, true)[0]!);
    });
  };

/**
 * Backpropagates Σ_heads Σ_rows probe·z once; checks the float32 heads against the float64
 * reference and every parameter's (and the table's) gradient against central differences of it.
 * Returns the parameter names with a non-zero gradient.
 */
function assertGradients(m: MultiTaskModel, b: Batch, reference: Reference, label: string, regularizer64?: (p: Params) => number): string[] {
  const rng = new Rng(2);
  const probes = Object.fromEntries(m.heads.map((h) => [h, Float32Array.from({ length: b.size }, () => rng.uniform() * 2 - 1)]));
  const z = m.forwardHeads(b);
  assert.deepEqual(Object.keys(z), [...m.heads]);
  const reg = m.regularizer();
  assert.equal(reg === null, regularizer64 === undefined, `${label}: regularizer`);
  const regValue = reg?.item();
  backward([...m.heads.map((h) => sum(mul(z[h]!, new Tensor(probes[h]!, [b.size])))), ...(reg ? [reg] : [])].reduce((acc, t) => add(acc, t)));
  const [[tableName, table]] = m.namedTables() as [[string, ReturnType<MultiTaskModel['tables']>[number]]];
  assert.equal(tableName, 'input.emb.weight');
  const g = table.sparseGrad(reducePending(table));
  const tableGrad = new Float64Array(table.data.length);
  for (let i = 0; i < g.count; i++) for (let d = 0; d < table.dim; d++) tableGrad[g.rows[i]! * table.dim + d] = g.values[i * table.dim + d]!;
  const named = m.namedParameters();
  const names = [tableName, ...named.map(([n]) => n)];
  const shapes: Shapes = new Map(named.map(([n, q]) => [n, q.shape]));
  const inputs = [Float64Array.from(table.data), ...named.map(([, q]) => Float64Array.from(q.data))];
  const analytic = [tableGrad, ...named.map(([, q]) => Float64Array.from(q.grad))];
  const z32 = Object.fromEntries(m.heads.map((h) => [h, Float64Array.from(z[h]!.data)]));
  endStep();
  const params = (xs: Float64Array[]): Params => new Map(names.map((n, i) => [n, xs[i]!]));
  const f = (xs: Float64Array[]): Record<string, Float64Array> => reference(params(xs), shapes, b);
  const z64 = f(inputs);
  for (const h of m.heads) {
    for (let r = 0; r < b.size; r++) assert.ok(Math.abs(z64[h]![r]! - z32[h]![r]!) < 1e-5, `${label} ${h} row ${r}: model ${z32[h]![r]} vs float64 ${z64[h]![r]}`);
  }
  if (regularizer64) {
    const want = regularizer64(params(inputs));
    assert.ok(Math.abs(regValue! - want) < 1e-6 * Math.max(1, want), `${label} regularizer: model ${regValue} vs float64 ${want}`);
  }
  const objective = (xs: Float64Array[]): number => {
    const zs = f(xs);
    return m.heads.reduce((s, h) => s + zs[h]!.reduce((a, v, r) => a + v * probes[h]![r]!, 0), 0) + (regularizer64?.(params(xs)) ?? 0);
  };
  assertGradcheck(objective, inputs, analytic, { eps: 1e-5, atol: 2e-4, rtol: 2e-3 }, label);
  return names.filter((_, i) => analytic[i]!.some((v) => Math.abs(v) > 1e-6));
}

// Small nets, tanh (smooth: no kinks for the finite differences), embeddings large enough to matter.
const SMALL = { dim: DIM, tower: [3], activation: 'tanh' as const, initStd: 0.3 };
const SB = { type: 'shared-bottom' as const, ...SMALL, bottom: [5, 4], rank: 2 };
const MM = { type: 'mmoe' as const, ...SMALL, experts: 3, expert: [5, 4] };
const PL = { type: 'ple' as const, ...SMALL, levels: 2, taskExperts: 2, sharedExperts: 1, expert: [4, 3] };
const ES = { type: 'esmm' as const, ...SMALL, bottom: [5, 4] };
const SN = { type: 'snr' as const, ...SMALL, subnetworks: 3, widths: [4, 3], l0: 0.05, temperature: 0.6 };

/** An SNR model whose gates are spread over (0, 1) at evaluation: log α ∈ [−1.5, 1.5], no gate at a clamp. */
function buildSNR(input: ModelConfigInput, tasks: string[]): SNR {
  const m = build(input, tasks) as SNR;
  const r = new Rng(9);
  m.gates.logAlpha.data.forEach((_, k, a) => (a[k] = r.uniform() * 3 - 1.5));
  return m;
}

describe('multi-task models', () => {
  for (const k of testBackends()) {
    it(`autograd gradients of every head match float64 central differences (${k.name})`, () => {
      withBackend(k, () => {
        const b = batch(6, 11);
        const two = ['income', 'marital'];
        const three = ['click', 'like', 'share'];
        const cases: [string, MultiTaskModel, Reference][] = [
          ['shared-bottom (low-rank)', build(SB, two), sharedBottom64(two)],
          ['mmoe', build(MM, three), mmoe64(three, 3)],
          ['ple, 2 levels', build(PL, three), ple64(three, 2, 2, 1)],
          ['ple, 1 level', build({ ...PL, levels: 1 }, two), ple64(two, 1, 2, 1)],
          ['esmm', build(ES), esmm64],
        ];
        for (const [label, m, ref] of cases) {
          const reached = assertGradients(m, b, ref, label);
          // Every parameter gets a gradient: no sub-network is left out of the heads.
          assert.deepEqual(m.namedParameters().map(([n]) => n).filter((n) => !reached.includes(n)), [], label);
          assert.ok(reached.includes('input.emb.weight'), label);
        }
      });
    });

    it(`SNR: heads, L0 penalty and gradients match float64 central differences, gates at evaluation and sampled (${k.name})`, () => {
      withBackend(k, () => {
        const b = batch(6, 12);
        const two = ['income', 'marital'];
        const three = ['click', 'like', 'share'];
        const penalty = l0Penalty64(0.05, 0.6);
        const cases: [string, SNR, string[], 'trans' | 'aver', number][] = [
          ['snr-trans', buildSNR(SN, three), three, 'trans', 2],
          ['snr-aver', buildSNR({ ...SN, variant: 'aver' }, two), two, 'aver', 2],
          ['snr-trans, 1 level', buildSNR({ ...SN, widths: [4] }, two), two, 'trans', 1],
          ['snr-aver, 3 levels, low-rank', buildSNR({ ...SN, variant: 'aver', widths: [4, 3, 3], rank: 2 }, two), two, 'aver', 3],
        ];
        for (const [label, m, tasks, variant, levels] of cases) {
          m.eval();
          const reached = assertGradients(m, b, snr64(tasks, variant, 3, levels, 0.6), `${label} (eval)`, penalty);
          assert.deepEqual(m.namedParameters().map(([n]) => n).filter((n) => !reached.includes(n)), [], label);
          // Training: the noise of step 7's first draw, which is the gates' (nothing else draws here).
          for (const q of m.parameters()) q.grad.fill(0);
          for (const t of m.tables()) t.zeroGrad();
          m.train();
          beginRandomStep(7);
          const noise = logisticNoise(stepSeed(m.gates.seed), m.gates.cfg.count).map(Math.fround);
          beginRandomStep(7);
          assertGradients(m, b, snr64(tasks, variant, 3, levels, 0.6, noise), `${label} (training)`, penalty);
        }
      });
    });

    it(`ESMM's ctcvr logit is logit(σ(a)σ(b)) and its BCE the stable −log(1 − pCTR·pCVR), finite at extreme logits (${k.name})`, () => {
      withBackend(k, () => {
        const vals = [-80, -30, -8, -1.5, 0, 0.7, 4, 30, 80];
        const a = new Parameter('a', Float32Array.from(vals.flatMap((x) => vals.map(() => x))), [vals.length ** 2]);
        const c = new Parameter('c', Float32Array.from(vals.flatMap(() => vals)), [vals.length ** 2]);
        const z = productLogit(a, c);
        // log σ(x) and log(1 − e^s) (s < 0) in float64, the way the PyTorch anchor computes its loss.
        const logSig = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
        const log1mExp = (s: number): number => (s > -Math.LN2 ? Math.log(-Math.expm1(s)) : Math.log1p(-Math.exp(s)));
        for (let i = 0; i < z.size; i++) {
          const [x, y] = [a.data[i]!, c.data[i]!];
          const logp = logSig(x) + logSig(y);
          const want = logp - log1mExp(logp);
          assert.ok(Number.isFinite(z.data[i]!), `a ${x}, b ${y}: ${z.data[i]}`);
          assert.ok(Math.abs(z.data[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `a ${x}, b ${y}: ${z.data[i]} vs ${want}`);
          if (Math.abs(x) <= 8 && Math.abs(y) <= 8) {
            const q = sigmoid64(x) * sigmoid64(y);
            assert.ok(Math.abs(z.data[i]! - Math.log(q / (1 - q))) < 1e-5, `a ${x}, b ${y}: naive ${Math.log(q / (1 - q))}`);
          }
        }
        // y = 0 everywhere: the loss is the mean of −log(1 − pCTCVR), finite even where pCTCVR rounds to 1.
        const y0 = new Float32Array(z.size);
        const loss = bceWithLogits(z, y0);
        const want = Array.from(a.data, (x, i) => -log1mExp(logSig(x) + logSig(c.data[i]!))).reduce((s, v) => s + v, 0) / z.size;
        assert.ok(Math.abs(loss.item() - want) <= 1e-5 * want, `loss ${loss.item()} vs ${want}`);
        backward(loss);
        assert.ok(a.grad.every(Number.isFinite) && c.grad.every(Number.isFinite));
        // d/da of −log(1 − σ(a)σ(b)) = σ(a)σ(b)(1 − σ(a)) / (1 − σ(a)σ(b)), where it is well conditioned in float64.
        for (let i = 0; i < z.size; i++) {
          const [x, y] = [a.data[i]!, c.data[i]!];
          if (Math.abs(x) > 8 || Math.abs(y) > 8) continue;
          const q = sigmoid64(x) * sigmoid64(y);
          const dA = (q * (1 - sigmoid64(x))) / (1 - q) / z.size;
          assert.ok(Math.abs(a.grad[i]! - dA) < 1e-6, `d/da at a ${x}, b ${y}: ${a.grad[i]} vs ${dA}`);
        }
        endStep();
      });
    });

    it(`save → load gives bit-identical heads (${k.name})`, () => {
      withBackend(k, () => {
        const cases: [ModelConfigInput, string[] | undefined][] = [[SB, ['income', 'marital']], [MM, ['a', 'b', 'c']], [PL, ['ctr', 'cvr']], [ES, undefined],
          [SN, ['income', 'marital']], [{ ...SN, variant: 'aver' }, ['a', 'b', 'c']]];
        const b = batch(20, 4);
        for (const [input, tasks] of cases) {
          const m = build(input, tasks);
          // A few steps first, so that the saved weights are not just the seed's.
          const opt = new Adam([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01 });
          const losses: number[] = [];
          for (let s = 0; s < 15; s++) {
            losses.push(trainStep(opt, () => {
              const z = m.forwardHeads(b);
              return m.heads.map((h) => bceWithLogits(z[h]!, b.labels)).reduce((acc, l) => add(acc, l));
            }));
          }
          assert.ok(losses.at(-1)! < losses[0]!, `${input.type}: loss ${losses[0]} → ${losses.at(-1)}`);
          m.eval();
          const heads = (x: MultiTaskModel): Buffer[] => noGrad(() => {
            const z = x.forwardHeads(b);
            const out = x.heads.map((h) => bits(z[h]!.data.slice()));
            endStep();
            return out;
          });
          const dir = mkdtempSync(join(tmpdir(), 'ctrkit-mtl-'));
          try {
            // No dims given: saveModel takes them, the task names included, from the model.
            saveModel(join(dir, 'm'), { model: m, modelConfig: parseModelConfig(input), schema: {}, metrics: {}, provenance: { dataHash: 'sha256:' + '0'.repeat(64), seed: 3 } });
            const { model: loaded, manifest } = loadModel(join(dir, 'm'));
            assert.deepEqual(manifest.dims.tasks, tasks);
            assert.ok(loaded instanceof MultiTaskModel && loaded.kind === m.kind);
            assert.deepEqual(loaded.heads, m.heads);
            assert.deepEqual(heads(loaded), heads(m), input.type);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
      });
    });
  }

  it('builds the configured structure: MMoE gates and experts, PLE levels, shared layers, outputs per head', () => {
    const b = batch(7, 1);
    const x0 = (FIELDS + 1) * DIM + 2;
    const mm = build(MM, ['x', 'y']) as MMoE;
    const shape = new Map(mm.namedParameters().map(([n, p]) => [n, p.shape]));
    assert.deepEqual(shape.get('experts.2.layers.0.W'), [x0, 5]);
    assert.deepEqual(shape.get('gates.1.W'), [x0, 3]);
    assert.deepEqual(shape.get('towers.1.layers.0.W'), [4, 3]);
    assert.equal(shape.has('experts.3.layers.0.W') || shape.has('gates.2.W'), false);
    assert.deepEqual(mm.lastSharedLayer(), [0, 1, 2].flatMap((e) => [mm.experts.nets[e]!.layers[1]!.W, mm.experts.nets[e]!.layers[1]!.b]));
    const z = mm.forwardHeads(b);
    assert.deepEqual(Object.fromEntries(Object.entries(z).map(([h, t]) => [h, t.shape])), { x: [7], y: [7] });
    endStep();

    const names = (m: MultiTaskModel): string[] => m.namedParameters().map(([n]) => n);
    const one = build({ ...PL, levels: 1 }, ['x', 'y', 'w']) as PLE;
    assert.equal(names(one).some((n) => n.includes('sharedGate') || n.startsWith('levels.1')), false);
    assert.deepEqual(one.namedParameters().find(([n]) => n === 'levels.0.taskGates.2.W')![1].shape, [x0, 3]);
    const two = build(PL, ['x', 'y', 'w']) as PLE;
    const pShape = new Map(two.namedParameters().map(([n, p]) => [n, p.shape]));
    assert.deepEqual(pShape.get('levels.0.sharedGate.W'), [x0, 3 * 2 + 1]);
    assert.deepEqual(pShape.get('levels.1.taskExperts.0.1.layers.0.W'), [3, 4]);
    assert.equal(pShape.has('levels.1.sharedGate.W'), false);
    assert.deepEqual(two.lastSharedLayer(), two.namedParameters().filter(([n]) => /^levels\.1\.sharedExperts\.0\.layers\.1\./.test(n)).map(([, p]) => p));

    const sb = build(SB, ['x', 'y']) as SharedBottom;
    assert.deepEqual(sb.lastSharedLayer(), sb.bottom.layers[1]!.parameters());
    assert.deepEqual(names(sb).filter((n) => n.startsWith('bottom.layers.0')), ['bottom.layers.0.U', 'bottom.layers.0.V', 'bottom.layers.0.b']);
    const es = build(ES) as ESMM;
    assert.deepEqual(es.heads, ['ctr', 'cvr', 'ctcvr']);
    assert.deepEqual(es.lastSharedLayer(), []);
  });

  it('forward() on a multi-task model names its heads instead of picking one', () => {
    assert.throws(() => build(MM, ['income', 'marital']).forward(batch(2, 1)), /^Error: mmoe is a multi-task model with heads income, marital: use forwardHeads\(\)$/);
    assert.throws(() => build(ES).forward(batch(2, 1)), /esmm is a multi-task model with heads ctr, cvr, ctcvr/);
  });

  it('a task-headed model without 2 distinct task names is a config error', () => {
    for (const type of ['shared-bottom', 'mmoe', 'ple', 'snr'] as const) {
      const cfg = parseModelConfig({ type });
      const err = (what: string) => (e: unknown): boolean => e instanceof ConfigError
        && e.message === `model.type: '${type}' is a multi-task model, one head per task; it needs 2 or more tasks (train.tasks), got ${what}`;
      assert.throws(() => createModel(cfg, DIMS, 1), err('none'));
      assert.throws(() => createModel(cfg, { ...DIMS, tasks: [] }, 1), err('none'));
      assert.throws(() => createModel(cfg, { ...DIMS, tasks: ['click'] }, 1), err('only "click"'));
      assert.throws(() => createModel(cfg, { ...DIMS, tasks: ['a', 'b', 'a'] }, 1), err('"a" twice'));
    }
    assert.ok(createModel(parseModelConfig({ type: 'esmm' }), DIMS, 1) instanceof ESMM);
  });

  it('defaults are the PyTorch anchor\'s (torch_mtl_ref.py); unknown settings are refused', () => {
    const common = { dim: 16, tower: [64], activation: 'relu', dropout: 0, initStd: 1e-4 };
    assert.deepEqual(parseModelConfig({ type: 'shared-bottom' }), { type: 'shared-bottom', ...common, bottom: [256, 128] });
    assert.deepEqual(parseModelConfig({ type: 'mmoe' }), { type: 'mmoe', ...common, experts: 8, expert: [256, 128] });
    assert.deepEqual(parseModelConfig({ type: 'ple' }), { type: 'ple', ...common, levels: 2, taskExperts: 2, sharedExperts: 2, expert: [256, 128] });
    assert.deepEqual(parseModelConfig({ type: 'esmm' }), { type: 'esmm', ...common, bottom: [256, 128] });
    assert.deepEqual(parseModelConfig({ type: 'snr' }), {
      type: 'snr', ...common, variant: 'trans', subnetworks: 4, widths: [256, 128], l0: 1e-3, temperature: 2 / 3, gateInit: 3,
    });
    assert.throws(() => parseModelConfig({ type: 'snr', variant: 'mean' }), /model\.variant: expected one of trans, aver/);
    assert.throws(() => parseModelConfig({ type: 'snr', temperature: 0 }), /model\.temperature/);
    assert.throws(() => parseModelConfig({ type: 'snr', l0: -1 }), /model\.l0/);
    assert.throws(() => parseModelConfig({ type: 'mmoe', hidden: [8] }), /model\.hidden: not a setting of model type 'mmoe'/);
    assert.throws(() => parseModelConfig({ type: 'ple', expert: [] }), /model\.expert/);
    assert.throws(() => parseModelConfig({ type: 'mmoe', experts: 0 }), /model\.experts/);
    // The full-size default MMoE over census-like inputs: 8 experts of 256-128 and 2 towers of 64-1.
    const m = build({ type: 'mmoe' }, ['income', 'marital']) as MMoE;
    const d0 = (FIELDS + 1) * 16 + 2;
    assert.equal(m.experts.count, 8);
    assert.equal(m.parameters().reduce((n, p) => n + p.size, 0), 8 * (d0 * 256 + 256 + 256 * 128 + 128) + 2 * (d0 * 8 + 8) + 2 * (128 * 64 + 64 + 64 + 1));
  });
});

/** The gates' log α and every other parameter's values, copied. */
const snapshot = (m: MultiTaskModel): Float32Array[] => [...m.parameters().map((p) => p.data.slice()), ...m.tables().map((t) => t.data.slice())];

describe('SNR', () => {
  it('gates: deterministic ẑ at evaluation; in training hard-concrete samples keyed by the step, exact 0s and 1s, P(z ≠ 0) as the penalty says', () => {
    const m = build({ ...SN, subnetworks: 2, widths: [3] }, ['a', 'b']) as SNR;
    const gates = m.gates;
    const z = (step: number): Float32Array => {
      beginRandomStep(step);
      const out = gates.forward().data.slice();
      endStep();
      return out;
    };
    gates.logAlpha.data.set([-3, -0.4, 0, 2]);
    m.eval();
    const want = [-3, -0.4, 0, 2].map((a) => Math.min(1, Math.max(0, sigmoid64(a) * 1.2 - 0.1)));
    for (const step of [0, 5]) z(step).forEach((v, k) => assert.ok(Math.abs(v - want[k]!) < 1e-6, `eval gate ${k} at step ${step}: ${v} vs ${want[k]}`));
    assert.deepEqual(z(3), z(8));
    m.train();
    assert.deepEqual(bits(z(4)), bits(z(4)));
    assert.notDeepEqual(bits(z(4)), bits(z(5)));
    // Many gates of one log α: the share of z ≠ 0 is the penalty's σ(log α − β log(−γ/ζ)).
    const many = build({ ...SN, subnetworks: 50, widths: [1, 1], temperature: 2 / 3, gateInit: 0.5 }, ['a', 'b']) as SNR;
    const samples = Array.from({ length: 4 }, (_, s) => {
      beginRandomStep(s);
      const out = many.gates.forward().data.slice();
      endStep();
      return Array.from(out);
    }).flat();
    assert.equal(samples.length, 4 * (50 * 50 + 2 * 50));
    const open = samples.filter((v) => v !== 0).length / samples.length;
    const pOpen = sigmoid64(0.5 - (2 / 3) * Math.log(0.1 / 1.1));
    assert.ok(Math.abs(open - pOpen) < 0.02, `share of open gates ${open} vs P(z ≠ 0) ${pOpen}`);
    assert.ok(samples.some((v) => v === 1) && samples.some((v) => v > 0 && v < 1));
    const reg = many.regularizer()!;
    const wantReg = 0.05 * many.gates.cfg.count * pOpen;
    assert.ok(Math.abs(reg.item() - wantReg) < 1e-5 * wantReg, `penalty ${reg.item()} vs ${wantReg}`);
    endStep();
    const none = build({ ...SN, l0: 0 }, ['a', 'b']);
    assert.equal(none.regularizer(), null);
  });

  it('the L0 penalty joins the training step: its gradient added to log α, outside the task method (loss- and gradient-level alike)', () => {
    const b = batch(16, 5);
    const tasks = ['income', 'marital'];
    const losses = (m: MultiTaskModel) => (): Tensor[] => {
      const z = m.forwardHeads(b);
      return m.heads.map((h) => bceWithLogits(z[h]!, b.labels));
    };
    const sumGradients: GradientLevelMethod = {
      name: 'sum', level: 'gradient', save: () => null, load: () => {},
      combine: (blocks) => blocks.map((bl) => bl.grads.reduce((acc, g) => acc.map((v, i) => v + g[i]!))),
    };
    const step = (l0: number, method: 'loss' | 'gradient') => {
      const m = buildSNR({ ...SN, l0 }, tasks);
      const logAlpha = Float64Array.from(m.gates.logAlpha.data);
      const opt = new Adam([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01 });
      const r = trainTaskStep(opt, m, losses(m), method === 'loss' ? new StaticWeights([1, 1]) : sumGradients, tasks);
      return { r, grad: Float64Array.from(m.gates.logAlpha.grad), logAlpha };
    };
    const plain = step(0, 'loss');
    assert.equal(plain.r.regularizer, undefined);
    const shift = -0.6 * Math.log(0.1 / 1.1);
    const penalty = plain.logAlpha.reduce((acc, a) => acc + 0.05 * sigmoid64(a + shift), 0);
    for (const method of ['loss', 'gradient'] as const) {
      const { r, grad } = step(0.05, method);
      assert.ok(Math.abs(r.regularizer! - penalty) < 1e-6, `${method}: regularizer ${r.regularizer} vs ${penalty}`);
      assert.deepEqual(r.taskLosses, plain.r.taskLosses);
      assert.ok(Math.abs(r.loss - (plain.r.loss + penalty)) < 1e-5, `${method}: loss ${r.loss}`);
      grad.forEach((g, k) => {
        const s = sigmoid64(plain.logAlpha[k]! + shift);
        const want = plain.grad[k]! + 0.05 * s * (1 - s);
        assert.ok(Math.abs(g - want) < 1e-6, `${method}: d/dlogα ${k}: ${g} vs ${want}`);
      });
    }
  });

  it('same seed ⇒ bit-identical training; resumed from a saved state it continues bit-identically (gate noise keyed by the step)', () => {
    const tasks = ['income', 'marital'];
    const data = [batch(24, 1), batch(24, 2), batch(24, 3)];
    const setup = (seed: number) => {
      const m = createModel(parseModelConfig({ ...SN, dropout: 0.2 }), { ...DIMS, tasks }, seed) as SNR;
      const opt = new Adam([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01 });
      const run = (from: number, to: number): void => {
        for (let s = from; s < to; s++) {
          trainTaskStep(opt, m, () => {
            const z = m.forwardHeads(data[s % 3]!);
            return m.heads.map((h) => bceWithLogits(z[h]!, data[s % 3]!.labels));
          }, new StaticWeights([1, 1]), tasks);
        }
      };
      return { m, opt, run };
    };
    const a = setup(4);
    a.run(0, 9);
    const b = setup(4);
    b.run(0, 9);
    assert.deepEqual(snapshot(a.m).map(bits), snapshot(b.m).map(bits));
    const c = setup(5);
    c.run(0, 9);
    assert.notDeepEqual(snapshot(a.m).map(bits), snapshot(c.m).map(bits));
    // 4 steps, save, restore into a fresh model and optimiser, 5 more.
    const first = setup(4);
    first.run(0, 4);
    const saved = { model: first.m.stateDict(), opt: first.opt.saveState() };
    const resumed = setup(4);
    resumed.m.loadStateDict(new Map([...saved.model].map(([k, v]) => [k, v.slice()])));
    resumed.opt.loadState(saved.opt);
    resumed.run(4, 9);
    assert.deepEqual(snapshot(resumed.m).map(bits), snapshot(a.m).map(bits));
    // The gates moved, and not all alike: they are trained.
    const la = Array.from(a.m.gates.logAlpha.data);
    assert.ok(la.some((v) => v !== 3) && new Set(la).size > 1);
  });

  it('gateLr: log α trains at its own rate in a group of its own (createOptimizer), every other tensor at lr', () => {
    const tasks = ['income', 'marital'];
    const b = batch(16, 7);
    const sgdStep = (gateLr?: number) => {
      const m = createModel(parseModelConfig({ ...SN, ...(gateLr !== undefined && { gateLr }) }), { ...DIMS, tasks }, 2) as SNR;
      const opt = createOptimizer(parseOptimizerConfig({ type: 'sgd', lr: 0.01 }), m);
      const before = new Map([...m.stateDict()].map(([n, v]) => [n, Float64Array.from(v)]));
      trainTaskStep(opt, m, () => {
        const z = m.forwardHeads(b);
        return m.heads.map((h) => bceWithLogits(z[h]!, b.labels));
      }, new StaticWeights([1, 1]), tasks);
      const grads = new Map(m.namedParameters().map(([n, p]) => [n, Float64Array.from(p.grad)]));
      return { m, opt, before, grads };
    };
    const plain = sgdStep();
    assert.equal(plain.opt.groups.length, 2);
    const own = sgdStep(0.5);
    assert.equal(own.opt.groups.length, 3);
    assert.deepEqual(own.opt.groups[2]!.params, [own.m.gates.logAlpha]);
    assert.equal(own.opt.groups[2]!.options.lr, 0.5);
    assert.ok(!own.opt.groups[0]!.params.includes(own.m.gates.logAlpha));
    let moved = 0;
    for (const [name, p] of own.m.namedParameters()) {
      const lr = name === 'gates.logAlpha' ? 0.5 : 0.01;
      const g = own.grads.get(name)!, was = own.before.get(name)!;
      p.data.forEach((v, k) => {
        assert.ok(Math.abs(v - (was[k]! - lr * g[k]!)) <= 1e-6 * Math.max(1, Math.abs(v)), `${name}[${k}]`);
        if (name === 'gates.logAlpha' && g[k] !== 0) moved++;
      });
    }
    assert.ok(moved > 0, 'the gates must get a gradient, or the test proves nothing');
    // The same gradients (same seed and batch): only log α's step differs from the plain run.
    assert.deepEqual([...own.grads.get('gates.logAlpha')!], [...plain.grads.get('gates.logAlpha')!]);
    assert.throws(() => parseModelConfig({ ...SN, gateLr: 0 }), /gateLr/);
  });

  it('structure: levels of sub-networks, Trans layers over the concatenated sources, Aver over their sum; cost', () => {
    const x0 = (FIELDS + 1) * 16 + 2;
    const shapes = (m: MultiTaskModel): Map<string, readonly number[]> => new Map(m.namedParameters().map(([n, p]) => [n, p.shape]));
    const trans = build({ type: 'snr' }, ['x', 'y']) as SNR;
    const t = shapes(trans);
    assert.deepEqual(t.get('levels.0.3.layers.0.W'), [x0, 256]);
    assert.deepEqual(t.get('levels.1.3.layers.0.W'), [4 * 256, 128]);
    assert.deepEqual(t.get('towers.1.layers.0.W'), [4 * 128, 64]);
    assert.deepEqual(t.get('gates.logAlpha'), [4 * 4 + 2 * 4]);
    assert.equal(t.has('levels.0.4.layers.0.W') || t.has('levels.2.0.layers.0.W'), false);
    assert.deepEqual(trans.lastSharedLayer(), [0, 1, 2, 3].flatMap((i) => trans.upper[0]![i]!.layers[0]!.parameters()));
    const aver = build({ type: 'snr', variant: 'aver', subnetworks: 3, widths: [32] }, ['x', 'y', 'w']) as SNR;
    const a = shapes(aver);
    assert.deepEqual(a.get('towers.2.layers.0.W'), [32, 64]);
    assert.deepEqual(a.get('gates.logAlpha'), [3 * 3]);
    assert.deepEqual(aver.lastSharedLayer(), aver.first.lastLayers());
    // Multiply-adds per row of the default SNR-Trans against the default MMoE's (8 experts of 256-128, gates, towers) on census-income's x0 (39 fields × 16).
    const census = (type: 'snr' | 'mmoe'): MultiTaskModel => createModel(parseModelConfig({ type }), { numIds: 100, numFields: 39, tasks: ['x', 'y'] }, 1) as MultiTaskModel;
    const macs = (m: MultiTaskModel): number => m.namedParameters().filter(([n]) => n.endsWith('.W')).reduce((s, [, p]) => s + p.size, 0);
    const ratio = macs(census('snr')) / macs(census('mmoe'));
    assert.ok(ratio > 0.6 && ratio < 1, `SNR-Trans / MMoE multiply-adds ${ratio}`);
  });
});
