/**
 * JSONL metric log: one JSON object per line, appended synchronously so that a crash or a
 * kill loses at most the line being written, and a resumed run simply continues the file.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type MetricEvent = 'start' | 'step' | 'epoch' | 'validation' | 'stop' | 'progress';

/** Scalar values a record may carry (NaN/±Infinity are written as null by JSON). */
export type MetricValue = number | string | boolean | null;

/** What the trainer reports; `epoch` is 1-based, `step` is the batch index within the epoch (1-based). */
export interface MetricRecord {
  event: MetricEvent;
  epoch: number;
  step: number;
  globalStep: number;
  [key: string]: MetricValue | undefined;
}

/** Where the trainer sends records (the JSONL file below, or anything else: tests, dashboards). */
export interface MetricSink {
  write(record: MetricRecord): void;
}

export interface MetricLogOptions {
  /**
   * Write a 'step' record every K steps (default 1). The record's loss is the row-weighted mean
   * over the K steps and rows_per_s covers the same window, so skipping lines hides nothing.
   */
  everySteps?: number;
  /** Start a new file instead of appending (default false: a resumed run keeps its history). */
  truncate?: boolean;
  /** Wall clock in ms (tests make time deterministic through it). */
  now?: () => number;
}

export class MetricLog implements MetricSink {
  readonly everySteps: number;
  private readonly now: () => number;
  private windowLoss = 0;
  private windowRows = 0;
  private windowMs = 0;
  private lastStamp: number;

  constructor(readonly path: string, opts: MetricLogOptions = {}) {
    const k = opts.everySteps ?? 1;
    if (!(Number.isInteger(k) && k >= 1)) throw new Error(`MetricLog: everySteps must be a positive integer, got ${k}`);
    this.everySteps = k;
    this.now = opts.now ?? Date.now;
    mkdirSync(dirname(path), { recursive: true });
    if (opts.truncate) writeFileSync(path, '');
    this.lastStamp = this.now();
  }

  /**
   * Step records are expected with `loss` (that step's mean loss) and `rows` (its batch size);
   * they are aggregated into one line per window. Every other event is written at once. The
   * window's time is the sum of the intervals that end at a step, so time spent validating or
   * checkpointing between steps is not billed to training throughput.
   */
  write(record: MetricRecord): void {
    const t = this.now();
    const dt = t - this.lastStamp;
    this.lastStamp = t;
    if (record.event !== 'step') {
      this.line(record, t);
      return;
    }
    const loss = typeof record.loss === 'number' ? record.loss : NaN;
    const rows = typeof record.rows === 'number' ? record.rows : 0;
    this.windowLoss += loss * rows;
    this.windowRows += rows;
    this.windowMs += dt;
    if (record.globalStep % this.everySteps !== 0) return;
    this.line({
      ...record,
      loss: this.windowRows > 0 ? this.windowLoss / this.windowRows : loss,
      rows: this.windowRows,
      rows_per_s: this.windowMs > 0 ? this.windowRows / (this.windowMs / 1000) : null,
    }, t);
    this.windowLoss = 0;
    this.windowRows = 0;
    this.windowMs = 0;
  }

  private line(record: MetricRecord, t: number): void {
    appendFileSync(this.path, JSON.stringify({ ...record, time: new Date(t).toISOString() }) + '\n');
  }
}

/** Parses a JSONL metric log (blank lines skipped); throws naming the line that is not JSON. */
export function parseMetricLog(text: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push(JSON.parse(l) as MetricRecord);
    } catch (e) {
      throw new Error(`metric log line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
  return out;
}
