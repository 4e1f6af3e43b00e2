/**
 * ONNX export checked in onnxruntime-node: every model type (and DCN-v2's low-rank / ramp / ReZero
 * / SmeLU / stacked options, the two-logit JRC head, dense and sequence inputs, calibrations and the
 * sampling correction), trained briefly on census-income rows, scores those rows to the probability
 * `ctrkit predict` reports within 1e-5.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { scoreFile, probabilityMap, type ScoredFile } from '../../src/experiment/scoring.js';
import { exportOnnx, onnxFeeds, writeOnnxExport, OnnxExportError, type OnnxFeed } from '../../src/io/onnx/index.js';
import type { ModelManifest } from '../../src/io/modelFile.js';
import { IsotonicCalibrator } from '../../src/calibrate/isotonic.js';
import { calibratorFromJSON } from '../../src/calibrate/calibrator.js';
import { CTRModel, MultiTaskModel } from '../../src/models/ctrModel.js';
import { TwoTower } from '../../src/models/twoTower.js';
import { QU } from '../../src/models/qu.js';
import { endStep, noGrad } from '../../src/autograd/tape.js';
import { RowGatherer } from '../../src/data/batching.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { OrtScorer } from '../../bench/onnxRuntime.js';
import { loadNativeKernels } from '../../src/backend/native.js';
import { censusColumns, censusPrefix, cli, trainCensus } from '../serve/census.js';

/** The CPU has VNNI (u8·s8 dot products into int32), which onnxruntime's int8 kernels use when present. */
const ORT_VNNI = ((isa) => isa !== undefined && (isa.avx512vnni || isa.avxvnni))(loadNativeKernels().addon?.cpuInfo?.().isa);

const ROWS = 2000;
const TOL = 1e-5;
const TRAIN = '{ epochs: 1, batchSize: 256, seed: 1, optimizer: { type: adam, lr: 0.01 }, validationMetric: auc';
const JRC = `${TRAIN}, loss: { type: jrc, alpha: 0.5 }`;

/** Census with dense (standardize, log, identity), bucketize and a 0–3 token sequence field. */
function variantConfig(yaml: string): string {
  return yaml
    .replace('year, income_50k', 'year, income_50k, seq')
    .replace('{ name: age, kind: numeric, transform: log-bucket }', '{ name: age, kind: numeric, transform: standardize }')
    .replace('{ name: wage_per_hour, kind: numeric, transform: log-bucket }', '{ name: wage_per_hour, kind: numeric, transform: log }')
    .replace('{ name: capital_gains, kind: numeric, transform: log-bucket }', '{ name: capital_gains, kind: numeric }')
    .replace('{ name: num_emp, kind: numeric, transform: log-bucket }', '{ name: num_emp, kind: numeric, transform: bucketize, boundaries: [1, 3, 5] }')
    .replace(/^( *)- \{ name: year, kind: categorical \}$/m, "$1- { name: year, kind: categorical }\n$1- { name: seq, kind: sequence, separator: '|', maxLength: 3 }");
}

function withSampling(yaml: string): string {
  return variantConfig(yaml).replace(/^  onBadLine: error$/m, '  onBadLine: error\n  sampling: { negativeRate: 0.5, seed: 5 }');
}

interface Case {
  name: string;
  model: string;
  train: string;
  edit?: (yaml: string) => string;
  /** What the case exists for, checked on the trained model (so a config typo cannot make it vacuous). */
  check?: (s: ScoredFile) => boolean;
  /** The tower vectors the graph also outputs (checked against the model's own). */
  vectors?: string[];
}

const jrcHead = (s: ScoredFile): boolean => s.model.logitsPerRow === 2;

const ITEM_FIELDS = ['class_worker', 'det_ind_code', 'det_occ_code', 'major_ind_code', 'major_occ_code'];

/** The variant's features in groups: the item fields above, year as display context, the rest (sequence and dense included) the user. */
function grouped(yaml: string): string {
  return variantConfig(yaml).replace(/- \{ name: (\w+), kind:/g, (_m, name: string) =>
    `- { name: ${name}, group: ${ITEM_FIELDS.includes(name) ? 'item' : name === 'year' ? 'ctx' : 'user'}, kind:`);
}

/** A second label (never married) for the multi-task models; `extra` edits the result further. */
function twoLabels(extra: (yaml: string) => string = variantConfig): (yaml: string) => string {
  return (yaml) => extra(yaml).replace(/^(\s*- \{ name: income, .*)$/m, '$1\n    - { name: marital, column: marital_stat, type: binary, positive: { equals: Never married } }');
}
const TASKS = `${TRAIN}, tasks: [{ name: income }, { name: marital }] }`;
const ESMM_TASKS = `${TRAIN}, tasks: [{ name: ctr, label: married }, { name: ctcvr, label: present }, { name: cvr, label: present, on: married, weight: 0 }] }`;

/** A click ⊇ conversion pair of labels for ESMM: married, and married with the spouse present. */
function marriedLabels(yaml: string): string {
  return withSampling(yaml).replace(/^(\s*)- \{ name: income, .*$/m,
    "$1- { name: married, column: marital_stat, type: binary, positive: { contains: Married } }\n$1- { name: present, column: marital_stat, type: binary, positive: { contains: spouse present } }");
}

/** Some row's history is longer than DIN's maxLen (2), so the truncation is exercised. */
const longHistory = (s: ScoredFile): boolean => {
  const o = s.dataset.sequences![0]!.offsets;
  return o.some((v, r) => r > 0 && v - o[r - 1]! > 2);
};

const CASES: Case[] = [
  { name: 'lr, Platt', model: '{ type: lr }', train: `${TRAIN}, calibration: platt }` },
  { name: 'lr, dense + sequence', model: '{ type: lr }', train: `${TRAIN} }`, edit: variantConfig },
  { name: 'fm, dense + sequence', model: '{ type: fm, dim: 8 }', train: `${TRAIN} }`, edit: variantConfig },
  { name: 'dnn, dense + sequence, isotonic', model: '{ type: dnn, dim: 8, hidden: [32, 16] }', train: `${TRAIN}, calibration: isotonic }`, edit: variantConfig,
    check: (s) => (s.manifest.calibration as { kind?: string }).kind === 'isotonic' },
  { name: 'dnn, wide & deep, dense + sequence', model: '{ type: dnn, dim: 8, hidden: [16], wide: true }', train: `${TRAIN} }`, edit: variantConfig },
  { name: 'dnn, JRC head', model: '{ type: dnn, dim: 8, hidden: [16], logits: 2, activation: tanh }', train: `${JRC} }`, check: jrcHead },
  { name: 'dcnv2, sampling correction', model: '{ type: dcnv2, dim: 8, hidden: [32], crossLayers: 2, activation: sigmoid }', train: `${TRAIN} }`, edit: withSampling,
    check: (s) => s.manifest.sampling?.corrected === true && s.manifest.calibration === undefined },
  {
    name: 'dcnv2 as Google runs it (low-rank cross and MLP, ramp, ReZero, SmeLU)',
    model: '{ type: dcnv2, dim: 8, hidden: [32, 16], crossLayers: 2, crossRank: 4, rank: 8, crossRamp: 20, rezero: true, activation: smelu, smeluBeta: 0.5 }',
    train: `${TRAIN} }`, edit: variantConfig,
  },
  { name: 'dcnv2 stacked, JRC head, Platt', model: '{ type: dcnv2, dim: 8, hidden: [16], crossLayers: 1, structure: stacked, logits: 2 }', train: `${JRC}, calibration: platt }`, check: jrcHead },
  { name: 'din, attention over the last 2 events, dense, Platt', model: '{ type: din, dim: 8, hidden: [16], attention: [{ sequence: seq, target: major_ind_code }], attentionHidden: [8], attentionActivation: tanh, maxLen: 2, initStd: 0.1 }',
    train: `${TRAIN}, calibration: platt }`, edit: variantConfig, check: longHistory, vectors: [] },
  { name: 'twotower with a bias net, sequence and dense in the user tower', model: '{ type: twotower, dim: 4, user: [user], item: [item], bias: [ctx], towerHidden: [8], outDim: 4, biasHidden: [4] }',
    train: `${TRAIN} }`, edit: grouped, vectors: ['user_vector', 'item_vector'] },
  { name: 'twotower without bias groups (intercept), sampling correction', model: '{ type: twotower, dim: 4, user: [user, ctx], item: [item], bias: [], towerHidden: [8], outDim: 3, biasHidden: [] }',
    train: `${TRAIN} }`, edit: (y) => grouped(y).replace(/^  onBadLine: error$/m, '  onBadLine: error\n  sampling: { negativeRate: 0.5, seed: 5 }'),
    check: (s) => s.manifest.sampling?.corrected === true && s.model instanceof TwoTower && s.model.intercept !== null, vectors: ['user_vector', 'item_vector'] },
  { name: 'qu', model: '{ type: qu, dim: 4, q: [user, item], u: [ctx], qHidden: [16], uHidden: [4], outDim: 4 }', train: `${TRAIN} }`, edit: grouped, vectors: ['q_vector', 'u_vector'] },
  { name: 'shared-bottom, two tasks', model: '{ type: shared-bottom, dim: 4, bottom: [16], tower: [8] }', train: TASKS, edit: twoLabels() },
  { name: 'mmoe, two tasks, SmeLU', model: '{ type: mmoe, dim: 4, experts: 3, expert: [16], tower: [8], activation: smelu, smeluBeta: 0.5 }', train: TASKS, edit: twoLabels() },
  { name: 'ple, two levels', model: '{ type: ple, dim: 4, levels: 2, taskExperts: 2, sharedExperts: 1, expert: [8], tower: [4] }', train: TASKS, edit: twoLabels() },
  { name: 'esmm: ctr, cvr and the exact ctcvr product logit, per-task sampling correction', model: '{ type: esmm, dim: 4, bottom: [16], tower: [8] }', train: ESMM_TASKS,
    edit: marriedLabels, check: (s) => s.manifest.tasks?.some((t) => t.sampling !== undefined) === true },
];

/**
 * The largest slope of an isotonic lookup (in logit space) between logits a and b: how much a
 * float32 rounding difference of the logit can move the calibrated probability.
 */
function isotonicSlope(cal: IsotonicCalibrator, a: number, b: number): number {
  const { x, y } = cal.fit;
  const lo = Math.min(a, b), hi = Math.max(a, b);
  let s = 0;
  for (let i = 0; i + 1 < x.length; i++) {
    if (x[i + 1]! >= lo && x[i]! <= hi) s = Math.max(s, (y[i + 1]! - y[i]!) / (x[i + 1]! - x[i]!));
  }
  return s;
}

describe('ONNX export: onnxruntime-node scores as ctrkit predict', () => {
  let dir: string;
  let plain: string;
  let variant: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-onnx-'));
    const data = censusPrefix(dir, ROWS);
    plain = data.file;
    // The variant's extra column: the row's industry, occupation and country tokens that are not "not in universe".
    const columns = censusColumns();
    const pick = ['major_ind_code', 'major_occ_code', 'country_self'].map((c) => columns.indexOf(c));
    const lines = data.lines.filter((l) => l.length > 0).map((l) => {
      const cells = l.split(',').map((c) => c.trim());
      return `${l},${pick.map((i) => cells[i]!).filter((t) => !t.startsWith('Not in universe') && t !== '?').join('|')}`;
    });
    variant = join(dir, 'variant.csv.gz');
    writeFileSync(variant, gzipSync(`${lines.join('\n')}\n`));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  CASES.forEach((c, k) => {
    it(c.name, async () => {
      const file = c.edit ? variant : plain;
      const modelDir = await trainCensus(join(dir, `m${k}`), file, c.model, c.train, c.edit);
      const s = await scoreFile(modelDir, file, { labels: true });
      if (c.check) assert.ok(c.check(s), `${c.name}: the trained model is not what the case tests`);
      const out = join(dir, `m${k}.onnx`);
      writeOnnxExport(s.model, s.manifest, s.fitted, out);
      const ort = await OrtScorer.load(out, s.fitted);
      try {
        const o = await ort.outputs(onnxFeeds(s.dataset, s.fitted, 0, s.dataset.numRows));
        const multi = s.model instanceof MultiTaskModel;
        const names = s.tasks.flatMap((t) => (multi ? [`probability_${t.name}`, `logit_${t.name}`] : ['probability', 'logit']).slice(0, 2));
        assert.deepEqual(Object.keys(o).sort(), [...new Set([...names, ...(c.vectors ?? [])])].sort());
        const cal = s.manifest.calibration === undefined ? undefined : calibratorFromJSON(s.manifest.calibration);
        for (const t of multi ? s.tasks : s.tasks.slice(0, 1)) {
          const sfx = multi ? `_${t.name}` : '';
          const [prob, logit] = [o[`probability${sfx}`]!, o[`logit${sfx}`]!];
          assert.equal(prob.length, s.dataset.numRows);
          for (let i = 0; i < t.probs.length; i++) {
            assert.ok(Math.abs(logit[i]! - t.logits[i]!) <= TOL * (1 + Math.abs(t.logits[i]!)), `${t.name} row ${i}: logit ${logit[i]} vs ${t.logits[i]}`);
            const d = Math.abs(prob[i]! - t.probs[i]!);
            // An isotonic lookup is exact, but its steep segments magnify the logits' float32 rounding
            // difference (different summation orders): allow that much more, and no more.
            const slack = cal instanceof IsotonicCalibrator ? isotonicSlope(cal, logit[i]!, t.logits[i]!) * Math.abs(logit[i]! - t.logits[i]!) : 0;
            assert.ok(d <= TOL + slack * 1.01, `${t.name} row ${i}: onnxruntime ${prob[i]}, predict ${t.probs[i]} (|Δp| = ${d})`);
          }
          assert.ok(new Set(t.probs).size > 20, `${t.name}: a near-constant model would pass trivially`);
        }
        for (const v of c.vectors ?? []) assertVectors(s, v, o[v]!);
        if (c.edit) {
          // Sequences padded further (mask 0) pool to the same values.
          const feeds = onnxFeeds(s.dataset, s.fitted, 0, 300);
          const padded = padSequences(feeds, 4);
          const a = await ort.outputs(feeds);
          const b = await ort.outputs(padded);
          for (const k of Object.keys(a)) assert.deepEqual(Array.from(b[k]!), Array.from(a[k]!), k);
          assert.ok(Object.keys(feeds).some((n) => n.endsWith('_mask')) && feeds.dense !== undefined, 'the variant has sequence and dense inputs');
        }
      } finally {
        await ort.release();
      }
    });
  });

  it('precision int8: every dense layer is MatMulInteger over ctrkit\'s int8 weights; onnxruntime scores as ctrkit int8 within the quantisation error', async () => {
    for (const [name, model] of [['dnn', '{ type: dnn, dim: 8, hidden: [64, 32] }'], ['dcnv2', '{ type: dcnv2, dim: 8, hidden: [64, 32], crossLayers: 2 }']] as const) {
      const modelDir = await trainCensus(join(dir, `int8-${name}`), plain, model, `${TRAIN} }`);
      const fp32 = await scoreFile(modelDir, plain, { labels: true });
      const int8 = await scoreFile(modelDir, plain, { labels: true, precision: 'int8' });
      const out = join(dir, `int8-${name}.onnx`);
      writeOnnxExport(fp32.model, fp32.manifest, fp32.fitted, out, 'int8');
      const graph = readFileSync(out);
      // Op types are the only case-sensitive occurrences (node and value names are lower case).
      const count = (op: string): number => graph.toString('latin1').split(op).length - 1;
      const layers = int8.precision.layers.filter((l) => l.precision === 'int8').length;
      assert.ok(layers >= (name === 'dnn' ? 3 : 5), `${name}: ${layers} int8 layers`);
      assert.equal(count('MatMulInteger'), layers, `${name}: one MatMulInteger per dense layer`);
      assert.equal(count('DynamicQuantizeLinear'), layers);
      const ort = await OrtScorer.load(out, fp32.fitted);
      try {
        const { probability } = await ort.run(onnxFeeds(fp32.dataset, fp32.fitted, 0, fp32.dataset.numRows));
        const p32 = fp32.tasks[0]!.probs;
        const p8 = int8.tasks[0]!.probs;
        let maxVs32 = 0;
        let sumVs8 = 0;
        let sumVs32 = 0;
        for (let i = 0; i < p32.length; i++) {
          maxVs32 = Math.max(maxVs32, Math.abs(probability[i]! - p32[i]!));
          sumVs32 += Math.abs(probability[i]! - p32[i]!);
          sumVs8 += Math.abs(probability[i]! - p8[i]!);
        }
        // Quantised, not exact: close to fp32 and to ctrkit's int8 (whose inputs are quantised per row, not per tensor).
        assert.ok(maxVs32 > 0, `${name}: int8 graph scores exactly as fp32: not quantised`);
        // Without VNNI, onnxruntime's u8·s8 kernel sums byte products pairwise in int16
        // (VPMADDUBSW), which saturates on large pairs (its quantization docs: the U8S8 saturation
        // issue): on such CPUs (Zen 3, measured mean |Δp| 1.3e-3) the bounds are wider.
        const [maxBound, meanBound] = ORT_VNNI ? [5e-3, 5e-4] : [1e-2, 3e-3];
        assert.ok(maxVs32 < maxBound && sumVs32 / p32.length < meanBound, `${name}: |Δp| vs fp32 max ${maxVs32}, mean ${sumVs32 / p32.length}`);
        assert.ok(sumVs8 / p8.length < meanBound, `${name}: mean |Δp| vs ctrkit int8 ${sumVs8 / p8.length}`);
      } finally {
        await ort.release();
      }
    }
    const lr = await scoreFile(await trainCensus(join(dir, 'int8-lr'), plain, '{ type: lr }', `${TRAIN} }`), plain, { labels: true });
    assert.throws(() => exportOnnx(lr.model, lr.manifest, lr.fitted, 'test', 'int8'), (e: unknown) => e instanceof OnnxExportError && /int8 is supported for dnn and dcnv2 models; this model is lr/.test((e as Error).message));
  });

  it('calibrations compile to the calibrator: chain, downsampling, Platt with a = 0, isotonic in probability space, 1 and 2 knots', async () => {
    const modelDir = await trainCensus(join(dir, 'cal'), plain, '{ type: dnn, dim: 4, hidden: [8] }', `${TRAIN} }`);
    const s = await scoreFile(modelDir, plain, { labels: true });
    const calibrations = [
      { kind: 'chain', steps: [{ kind: 'downsampling', rate: 0.25 }, { kind: 'platt', a: 1.3, b: -0.2 }] },
      { kind: 'platt', a: 0, b: 0.4 },
      { kind: 'isotonic', space: 'probability', x: [0.01, 0.05, 0.1, 0.3], y: [0, 0.1, 0.2, 0.9] },
      { kind: 'chain', steps: [{ kind: 'platt', a: 0.8, b: 0.1 }, { kind: 'isotonic', space: 'logit', x: [-3, -1, 0.5], y: [0.02, 0.3, 0.6] }] },
      { kind: 'isotonic', space: 'logit', x: [-2], y: [0.3] },
      { kind: 'isotonic', space: 'logit', x: [-4, -1], y: [0.1, 0.7] },
    ];
    for (const [k, calibration] of calibrations.entries()) {
      const manifest = { ...s.manifest, calibration } as unknown as ModelManifest;
      const out = join(dir, `cal${k}.onnx`);
      writeOnnxExport(s.model, manifest, s.fitted, out);
      const ort = await OrtScorer.load(out, s.fitted);
      try {
        // Against the calibrator applied to onnxruntime's own logits: the calibration alone, to float32 output precision.
        const o = await ort.score(s.dataset, 0, s.dataset.numRows);
        const want = probabilityMap(manifest).apply(o.logit);
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(o.probability[i]! - want[i]!) <= 1e-7, `${JSON.stringify(calibration)}: row ${i}: ${o.probability[i]} vs ${want[i]}`);
        }
      } finally {
        await ort.release();
      }
    }
  });

  it('ctrkit export writes the graph and its schema JSON; a bad model directory is a one-line user error', async () => {
    const modelDir = await trainCensus(join(dir, 'cli'), plain, '{ type: lr }', `${TRAIN} }`);
    const out = join(dir, 'cli.onnx');
    const p = spawnSync('node', [cli, 'export', '-m', modelDir, '--format', 'onnx', '-o', out], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(JSON.parse(p.stdout), { onnx: out, schema: `${out}.schema.json`, bytes: readFileSync(out).length });
    const schema = JSON.parse(readFileSync(`${out}.schema.json`, 'utf8')) as { inputs: { name: string; shape: unknown[] }[]; schema: { fitted: { fields: { name: string; vocabulary?: string[] }[] } } };
    assert.deepEqual(schema.inputs.map((i) => i.name), ['ids']);
    assert.deepEqual(schema.inputs[0]!.shape, ['N', schema.schema.fitted.fields.length]);
    assert.ok(schema.schema.fitted.fields.find((f) => f.name === 'education')!.vocabulary!.includes('Bachelors degree(BA AB BS)'));

    const bad = spawnSync('node', [cli, 'export', '-m', join(dir, 'nope'), '-o', join(dir, 'x.onnx')], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^ctrkit: .*nope.*\n$/);
    assert.ok(!existsSync(join(dir, 'x.onnx')));
  });

  it('a model type without an ONNX form is refused by name', async () => {
    const modelDir = await trainCensus(join(dir, 'other'), plain, '{ type: lr }', `${TRAIN} }`);
    const s = await scoreFile(modelDir, plain, { labels: true });
    class Other extends CTRModel {
      readonly kind = 'other';
      forward(): Tensor {
        throw new Error('not called');
      }
    }
    assert.throws(() => exportOnnx(new Other(), s.manifest, s.fitted, 'test'), (e: unknown) =>
      e instanceof OnnxExportError && /no ONNX export for model type 'other' \(supported: lr, fm, dnn, dcnv2, din, twotower, qu, shared-bottom, mmoe, ple, esmm\)/.test(e.message));
  });
});

/** The feeds with `extra` more padding positions (mask 0, id 0) on every sequence. */
function padSequences(feeds: Record<string, OnnxFeed>, extra: number): Record<string, OnnxFeed> {
  const out: Record<string, OnnxFeed> = { ...feeds };
  for (const [name, f] of Object.entries(feeds)) {
    if (!name.startsWith('seq_')) continue;
    const [n, L] = f.dims as [number, number];
    const W = L + extra;
    if (f.type === 'int64') {
      const d = new BigInt64Array(n * W);
      for (let r = 0; r < n; r++) d.set(f.data.subarray(r * L, (r + 1) * L), r * W);
      out[name] = { type: 'int64', data: d, dims: [n, W] };
    } else {
      const d = new Float32Array(n * W);
      for (let r = 0; r < n; r++) d.set(f.data.subarray(r * L, (r + 1) * L), r * W);
      out[name] = { type: 'float32', data: d, dims: [n, W] };
    }
  }
  return out;
}

/** The graph's tower vectors equal the model's own (TwoTower.userVectors / itemVectors, QU.qVectors / uVectors) within 1e-5. */
function assertVectors(s: ScoredFile, name: string, got: Float32Array): void {
  const m = s.model;
  let want = new Float32Array(0);
  noGrad(() => {
    const batch = new RowGatherer(s.dataset).gather(Int32Array.from({ length: s.dataset.numRows }, (_, i) => i), 0, s.dataset.numRows);
    const t = m instanceof TwoTower ? (name === 'user_vector' ? m.userVectors(batch) : m.itemVectors(batch))
      : m instanceof QU ? (name === 'q_vector' ? m.qVectors(batch) : m.uVectors(batch)) : assert.fail(`${name}: not a tower model`);
    want = t.data.slice();
    endStep();
  });
  assert.equal(got.length, want.length, name);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= TOL * (1 + Math.abs(want[i]!)), `${name}[${i}]: ${got[i]} vs ${want[i]}`);
}
