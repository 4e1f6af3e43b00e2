/**
 * What an experiment keeps of one finished run (cell × seed): its metrics, the test
 * reliability diagram and the gradient-probe series from its JSONL log. The report is built
 * from these files alone, so re-running a finished experiment rebuilds the same report
 * without touching models or logs.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { CalibrationBin } from '../metrics/calibrationBins.js';
import { parseMetricLog } from '../train/metricLog.js';

export interface ProbeSeries {
  /** Global steps of the logged step records, ascending. */
  steps: number[];
  /** Per probe (grad_neg_logit, grad_pos_logit, grad_emb_mean, …), one value per step. */
  values: Record<string, (number | null)[]>;
}

/**
 * What a run cost. Dense weights are exact (each is one multiply-add per row in the forward
 * pass); rows/s depend on the machine and whatever else ran on it, hence the load and CPU.
 */
export interface RunCost {
  /** Trained dense weights (embedding tables excluded), biases and gates included. */
  denseParams: number;
  /** Fit rows trained per second of training time (validation excluded), over all epochs. */
  trainRowsPerSec: number | null;
  /** 1-minute load average when training ended. */
  loadAvg1m: number;
  /** CPU model × logical cores, and the native threads the run used. */
  cpu: string;
  threads: number;
}

export interface RunSummary {
  cell: string;
  seed: number;
  /** runHash of the run's config and seed: a summary with another hash is stale. */
  hash: string;
  overrides: [string, unknown][];
  validation: Record<string, number | null>;
  test: Record<string, number | null>;
  testCalibrated?: Record<string, number | null>;
  epochs: number;
  bestEpoch: number | null;
  rows: { fit: number; validation: number; test: number };
  seconds: number;
  /** Equal-frequency reliability bins of the test probabilities (before post-hoc calibration; weighted by β_pos like the metrics). */
  reliability: { bins: CalibrationBin[]; ece: number; rows: number } | null;
  probes: ProbeSeries | null;
  /** Absent in summaries written before costs were recorded. */
  cost?: RunCost;
}

/**
 * Training throughput from a run's 'epoch' records. A resumed epoch's later record wins; its
 * `rows` counts the rows trained before the resume too, so the rows timed are rows_per_s × seconds.
 */
export function trainRowsPerSec(logFile: string): number | null {
  if (!existsSync(logFile)) return null;
  const byEpoch = new Map<number, { rows: number; seconds: number }>();
  for (const r of parseMetricLog(readFileSync(logFile, 'utf8'))) {
    if (r.event === 'epoch' && typeof r.rows_per_s === 'number' && typeof r.seconds === 'number') {
      byEpoch.set(r.epoch, { rows: r.rows_per_s * r.seconds, seconds: r.seconds });
    }
  }
  let rows = 0, seconds = 0;
  for (const e of byEpoch.values()) { rows += e.rows; seconds += e.seconds; }
  return seconds > 0 ? rows / seconds : null;
}

/** The grad_* series of a run's log; later records win (a resumed run re-logs steps). */
export function probeSeries(logFile: string): ProbeSeries | null {
  if (!existsSync(logFile)) return null;
  const byStep = new Map<number, Record<string, number | null>>();
  for (const r of parseMetricLog(readFileSync(logFile, 'utf8'))) {
    if (r.event !== 'step') continue;
    const rec: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(r)) if (k.startsWith('grad_') && (typeof v === 'number' || v === null)) rec[k] = v;
    if (Object.keys(rec).length > 0) byStep.set(r.globalStep, rec);
  }
  if (byStep.size === 0) return null;
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  const names = [...new Set(steps.flatMap((s) => Object.keys(byStep.get(s)!)))].sort();
  const values: Record<string, (number | null)[]> = {};
  for (const n of names) values[n] = steps.map((s) => byStep.get(s)![n] ?? null);
  return { steps, values };
}

export function readRunSummary(file: string): RunSummary | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunSummary;
  } catch {
    // Summaries are written atomically, so this is a hand-edited or foreign file: run again.
    return null;
  }
}
