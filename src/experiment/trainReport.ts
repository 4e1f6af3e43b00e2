/**
 * The end-of-training evaluation sections of a run's report (src/report/runReport.ts): the
 * metrics table, the test reliability diagram before / after calibration and the calibration
 * bias per slice — by pCTR decile, and by the values of one categorical field.
 *
 * The slice field is chosen, not configured: among the categorical (vocabulary or hashed)
 * fields, the one whose SLICES most frequent test values, plus the rest as '(other)', split the
 * test rows most evenly (highest entropy). A field where one value holds 95 % of the rows, or
 * where no value holds more than a handful, says little per slice; an even split gives every
 * slice enough rows to read its bias.
 */
import type { Dataset } from '../data/dataset.js';
import type { DataSplit, FittedSchema, IdFieldSpec } from '../schema/index.js';
import { calibrationBiasBySlice, reliabilityDiagram, UndefinedMetricError, type ReliabilityDiagram } from '../metrics/index.js';
import {
  buildRunReport, readRunLog, writeRunReport, type MetricsSection, type ReportSection, type ReliabilitySection, type RunReport, type SliceBiasSection,
} from '../report/runReport.js';
import type { TrainResult } from '../train/trainer.js';
import type { ExperimentConfig } from './config.js';
import { evaluationWeights, rowValues, type EvalRows } from './evaluate.js';

/** Values of the slice field shown one by one; the rest are pooled. */
const SLICES = 10;

export interface EvaluationInput {
  dataset: Dataset;
  split: DataSplit;
  fitted: FittedSchema;
  metrics: RunReport['metrics'];
  /** Test-row probabilities as evaluated (sampling-corrected), and after calibration when there is one. */
  testProbs: ArrayLike<number>;
  testCalibrated?: ArrayLike<number>;
  /** β_pos: positives weigh this much in the metrics, and so here. */
  positiveWeight?: number;
  /** The task's label (default 0, the first) and test rows (default all of split.test). */
  label?: number;
  rows?: EvalRows;
  /** train.biasConstraints: its slices of the test rows (−1: none) and their final λ. */
  constraint?: { by: string; labels: readonly string[]; slices: Int32Array; lambda: readonly number[] };
}

function metricsSection(m: RunReport['metrics']): MetricsSection | null {
  const cols: [string, Record<string, number | null>][] = [['validation', m.validation], ['test', m.test]];
  if (m.test_calibrated) cols.push(['test (calibrated)', m.test_calibrated]);
  const names = [...new Set(cols.flatMap(([, v]) => Object.keys(v)))];
  if (names.length === 0) return null;
  return {
    kind: 'metrics', source: 'evaluation', title: 'Metrics', columns: cols.map(([c]) => c),
    rows: names.map((n) => ({ metric: n, values: cols.map(([, v]) => v[n] ?? null) })),
  };
}

function diagram(p: ArrayLike<number>, y: Float32Array, weights: Float32Array | undefined): ReliabilityDiagram | null {
  try {
    return reliabilityDiagram(p, y, { bins: SLICES, weights });
  } catch (e) {
    if (e instanceof UndefinedMetricError) return null;
    throw e;
  }
}

function entropy(counts: readonly number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return -counts.reduce((h, c) => (c > 0 ? h + (c / n) * Math.log(c / n) : h), 0);
}

interface SliceField {
  field: number;
  /** Local id of each row. */
  local: Int32Array;
  /** The SLICES most frequent local ids, most rows first (ties: smaller id first). */
  top: number[];
}

/** The k most frequent ids of `counts` (most first, ties by smaller id), in one pass: fields may have millions of ids. */
export function topIds(counts: Int32Array, k: number): number[] {
  const top: number[] = [];
  for (let id = 0; id < counts.length; id++) {
    const c = counts[id]!;
    if (c === 0 || (top.length === k && c <= counts[top[k - 1]!]!)) continue;
    let at = top.length;
    while (at > 0 && counts[top[at - 1]!]! < c) at--;
    top.splice(at, 0, id);
    if (top.length > k) top.pop();
  }
  return top;
}

/**
 * The categorical field (of `fields`, the dataset's id fields in order) whose top values split
 * `rows` most evenly (see the module comment); null when no categorical field has two values.
 */
export function chooseSliceField(ds: Dataset, fields: readonly IdFieldSpec[], rows: { start: number; end: number }): SliceField | null {
  let best: { field: number; top: number[]; h: number } | null = null;
  const n = rows.end - rows.start;
  fields.forEach((f, j) => {
    if (!(f.kind === 'hash' || (f.kind === 'vocab' && !f.logBucket))) return;
    const counts = new Int32Array(ds.fieldSizes[j]!);
    for (let r = rows.start; r < rows.end; r++) counts[ds.ids[r * ds.numFields + j]! - ds.fieldOffsets[j]!]!++;
    const top = topIds(counts, SLICES);
    if (top.length < 2) return;
    const inTop = top.reduce((s, id) => s + counts[id]!, 0);
    const h = entropy([...top.map((id) => counts[id]!), n - inTop]);
    if (!best || h > best.h + 1e-12) best = { field: j, top, h };
  });
  if (!best) return null;
  const { field, top } = best;
  const local = new Int32Array(n);
  for (let r = rows.start; r < rows.end; r++) local[r - rows.start] = ds.ids[r * ds.numFields + field]! - ds.fieldOffsets[field]!;
  return { field, local, top };
}

export function sliceLabel(f: IdFieldSpec, local: number): string {
  if (f.kind === 'vocab') return local === 0 ? '(rare or unseen)' : f.vocabulary[local - 1]!;
  return `bucket ${local}`;
}

/** The report sections of one task (by default the first label on every test row) from its test predictions. */
export function evaluationSections(input: EvaluationInput): ReportSection[] {
  const { dataset: ds, split, fitted } = input;
  const out: ReportSection[] = [];
  const table = metricsSection(input.metrics);
  if (table) out.push(table);
  const rows = input.rows ?? split.test;
  const label = input.label ?? 0;
  const y = rowValues(ds.labels[label]!, rows);
  if (y.length === 0 || !y.every((v) => v === 0 || v === 1)) return out;
  const w = evaluationWeights(ds, rows, input.positiveWeight, label);

  const raw = diagram(input.testProbs, y, w);
  const cal = input.testCalibrated && diagram(input.testCalibrated, y, w);
  const diagrams: ReliabilitySection['diagrams'] = [];
  for (const [name, d] of [[cal ? 'before calibration' : 'test', raw], ['after calibration', cal]] as const) {
    if (d) diagrams.push({ name, ece: d.ece, rows: d.rows, bins: [...d.bins] });
  }
  if (diagrams.length > 0) {
    out.push({
      kind: 'reliability', source: 'evaluation', title: 'Reliability diagram (test rows)', diagrams,
      note: `Equal-frequency bins of the predicted probability${w ? ' (weighted as the metrics are)' : ''}; points on the diagonal are calibrated.`,
    });
  }

  // Slices are judged on what `predict` serves: the calibrated probabilities when there is a calibration.
  const served = input.testCalibrated ?? input.testProbs;
  const which = input.testCalibrated ? 'calibrated predictions' : 'predictions';
  const deciles = cal ?? raw;
  if (deciles) {
    out.push({
      kind: 'sliceBias', source: 'evaluation', by: 'pCTR decile', title: `Calibration bias by pCTR decile (test rows, ${which})`,
      slices: deciles.bins.map((b) => ({
        slice: `${b.index + 1}: p ${b.minPrediction.toPrecision(3)}–${b.maxPrediction.toPrecision(3)}`, rows: b.count, weight: b.weight,
        predicted: b.meanPrediction * b.weight, observed: b.meanLabel * b.weight,
        ratioBias: b.meanLabel > 0 ? b.meanPrediction / b.meanLabel - 1 : null, meanBias: b.meanPrediction - b.meanLabel,
      })),
    });
  }
  // A task on some rows only (CVR on clicks) gets no field slices: they are chosen over a range of rows.
  const field = rows instanceof Int32Array ? null : chooseSliceField(ds, fitted.spec.fields, rows);
  if (field) {
    const OTHER = -1;
    const isTop = new Set(field.top);
    const keys = Int32Array.from(field.local, (id) => (isTop.has(id) ? id : OTHER));
    const bias = calibrationBiasBySlice(served, y, keys, w);
    const order = [...field.top, OTHER];
    bias.sort((a, b) => order.indexOf(a.slice as number) - order.indexOf(b.slice as number));
    const name = fitted.spec.fields[field.field]!.name;
    const slices: SliceBiasSection['slices'] = bias.map((s) => ({
      slice: s.slice === OTHER ? '(other values)' : sliceLabel(fitted.spec.fields[field.field]!, s.slice as number),
      rows: s.rows, weight: s.weight, predicted: s.predicted, observed: s.observed, ratioBias: s.ratioBias, meanBias: s.meanBias,
    }));
    out.push({
      kind: 'sliceBias', source: 'evaluation', by: name, title: `Calibration bias by ${name} (test rows, ${which})`, slices,
      note: `The ${SLICES} most frequent values of \`${name}\`, the categorical field whose values split the test rows most evenly.`,
    });
  }
  const c = input.constraint;
  if (c) {
    const inSlice = Int32Array.from(c.slices, (k) => (k < 0 ? c.labels.length : k));
    const bias = calibrationBiasBySlice(served, y, inSlice, w).sort((a, b) => (a.slice as number) - (b.slice as number));
    out.push({
      kind: 'sliceBias', source: 'evaluation', by: c.by, title: `Calibration bias by the bias constraint's slices (${c.by}; test rows, ${which})`,
      slices: bias.map((s) => ({
        slice: s.slice === c.labels.length ? '(no slice)' : `${c.labels[s.slice as number]!} (λ ${c.lambda[s.slice as number]!.toPrecision(3)})`,
        rows: s.rows, weight: s.weight, predicted: s.predicted, observed: s.observed, ratioBias: s.ratioBias, meanBias: s.meanBias,
      })),
      note: 'The slices train.biasConstraints constrained, with each dual variable λ at the end of training.',
    });
  }
  return out;
}

export interface TrainingReportInput extends Omit<EvaluationInput, 'positiveWeight'> {
  cfg: ExperimentConfig;
  output: string;
  train: TrainResult;
  seed: number;
  /** The model type as trained. */
  model: string;
  /** Several tasks (or one on some rows): a section list per task, in place of the first label's. */
  tasks?: { name: string; label: number; rows: EvalRows; testProbs: ArrayLike<number>; metrics: RunReport['metrics']; positiveWeight?: number }[];
  seconds: number;
}

/** Writes <output>/report.json and report.html of a finished `ctrkit train` run; returns the HTML's path. */
export async function writeTrainingReport(r: TrainingReportInput): Promise<string> {
  const { split, train, cfg } = r;
  const rows = (x: { start: number; end: number }): number => x.end - x.start;
  const lossCfg = cfg.train.loss;
  return writeRunReport(r.output, buildRunReport({
    title: `Training run: ${cfg.file}`,
    run: {
      config: cfg.file, output: r.output, model: r.model, loss: lossCfg?.type ?? 'bce', seed: r.seed, epochs: train.epochsRun,
      best_epoch: train.best?.epoch ?? null, stopped_early: train.stoppedEarly, interrupted: train.interrupted,
      rows_fit: rows(split.fit), rows_validation: rows(split.validation), rows_test: rows(split.test),
      calibration: cfg.train.calibration, seconds: Math.round(r.seconds * 100) / 100,
    },
    metrics: r.metrics,
    tasks: r.tasks
      ? r.tasks.map((t) => ({ name: t.name, sections: evaluationSections({ ...r, ...t }) }))
      : [{ name: r.dataset.labelNames[0] ?? 'label', sections: evaluationSections({ ...r, positiveWeight: lossCfg?.betaPos }) }],
  }, readRunLog(r.output)));
}
