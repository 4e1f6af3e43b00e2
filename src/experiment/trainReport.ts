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
import type { MetricsSection, ReportSection, ReliabilitySection, RunReport, SliceBiasSection } from '../report/runReport.js';
import { evaluationWeights } from './evaluate.js';

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
  /** Local id of each test row. */
  local: Int32Array;
  /** The SLICES most frequent local ids, most rows first. */
  top: number[];
}

/**
 * The categorical field (of `fields`, the dataset's id fields in order) whose top values split
 * `rows` most evenly (see the module comment); null when no categorical field has two values.
 */
export function chooseSliceField(ds: Dataset, fields: readonly IdFieldSpec[], rows: { start: number; end: number }): SliceField | null {
  let best: (SliceField & { h: number }) | null = null;
  fields.forEach((f, j) => {
    if (!(f.kind === 'hash' || (f.kind === 'vocab' && !f.logBucket))) return;
    const local = new Int32Array(rows.end - rows.start);
    const counts = new Map<number, number>();
    for (let r = rows.start; r < rows.end; r++) {
      const id = ds.ids[r * ds.numFields + j]! - ds.fieldOffsets[j]!;
      local[r - rows.start] = id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    if (counts.size < 2) return;
    // Most rows first, ties by id, so the choice does not depend on row order.
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const top = ranked.slice(0, SLICES);
    const rest = ranked.slice(SLICES).reduce((s, [, c]) => s + c, 0);
    const h = entropy([...top.map(([, c]) => c), rest]);
    if (!best || h > best.h + 1e-12) best = { field: j, local, top: top.map(([id]) => id), h };
  });
  return best;
}

function sliceLabel(f: IdFieldSpec, local: number): string {
  if (f.kind === 'vocab') return local === 0 ? '(rare or unseen)' : f.vocabulary[local - 1]!;
  return `bucket ${local}`;
}

/** The report sections of one task (the first label) from the test rows' predictions. */
export function evaluationSections(input: EvaluationInput): ReportSection[] {
  const { dataset: ds, split, fitted } = input;
  const out: ReportSection[] = [];
  const table = metricsSection(input.metrics);
  if (table) out.push(table);
  const rows = split.test;
  const y = ds.labels[0]!.subarray(rows.start, rows.end);
  if (y.length === 0 || !y.every((v) => v === 0 || v === 1)) return out;
  const w = evaluationWeights(ds, rows, input.positiveWeight);

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
  const field = chooseSliceField(ds, fitted.spec.fields, rows);
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
  return out;
}
