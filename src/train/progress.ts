/**
 * Training progress display. The trainer only talks to `ProgressReporter`; a terminal gets a
 * live bar (cli-progress), a redirected stderr gets one plain line per epoch (escape codes in a
 * log file are noise), and quiet runs get nothing.
 */
import cliProgress from 'cli-progress';

export interface EpochStart {
  /** 1-based. */
  epoch: number;
  epochs: number;
  totalRows: number;
  /** Rows already trained in this epoch (non-zero when resuming mid-epoch). */
  rowsDone: number;
}

export interface ProgressUpdate {
  rowsDone: number;
  /** Running mean training loss of the epoch so far. */
  loss: number;
  rowsPerSec: number;
}

export interface EpochEnd {
  epoch: number;
  epochs: number;
  loss: number;
  rows: number;
  seconds: number;
  /** Validation metrics of the epoch (empty without validation). */
  metrics: Record<string, number>;
}

export interface ProgressReporter {
  startEpoch(info: EpochStart): void;
  update(info: ProgressUpdate): void;
  endEpoch(info: EpochEnd): void;
  /** Releases the terminal; safe to call more than once, and after an error. */
  stop(): void;
}

/** Reports nothing. */
export class SilentProgress implements ProgressReporter {
  startEpoch(_s: EpochStart): void {}
  update(_u: ProgressUpdate): void {}
  endEpoch(_e: EpochEnd): void {}
  stop(): void {}
}

function fmtLoss(x: number): string {
  return Number.isFinite(x) ? x.toFixed(5) : String(x);
}

function fmtRate(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '-';
  return x >= 1e4 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}

function fmtMetrics(m: Record<string, number>): string {
  return Object.entries(m).map(([k, v]) => ` ${k} ${Number.isFinite(v) ? v.toFixed(5) : String(v)}`).join('');
}

/** One line per finished epoch: for logs, CI and any stream that is not a terminal. */
export class LineProgress implements ProgressReporter {
  constructor(private readonly stream: NodeJS.WritableStream = process.stderr) {}

  startEpoch(_s: EpochStart): void {}
  update(_u: ProgressUpdate): void {}

  endEpoch(e: EpochEnd): void {
    const rate = e.seconds > 0 ? e.rows / e.seconds : NaN;
    this.stream.write(`epoch ${e.epoch}/${e.epochs}: ${e.rows} rows in ${e.seconds.toFixed(1)}s (${fmtRate(rate)} rows/s), loss ${fmtLoss(e.loss)}${fmtMetrics(e.metrics)}\n`);
  }

  stop(): void {}
}

/** Live bar: epoch, rows done/total, rows/s, running loss, ETA of the epoch. */
export class BarProgress implements ProgressReporter {
  private bar: cliProgress.SingleBar | null = null;
  private epochs = 0;

  constructor(private readonly stream: NodeJS.WritableStream = process.stderr) {}

  startEpoch(s: EpochStart): void {
    this.stop();
    this.epochs = s.epochs;
    this.bar = new cliProgress.SingleBar({
      stream: this.stream,
      format: 'epoch {ep}/{epochs} |{bar}| {value}/{total} rows | {rps} rows/s | loss {loss} | ETA {eta_formatted}',
      hideCursor: true,
      // The bar stays after the epoch: the finished line is the epoch's record on screen.
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(s.totalRows, s.rowsDone, { ep: s.epoch, epochs: s.epochs, rps: '-', loss: '-' });
  }

  update(u: ProgressUpdate): void {
    this.bar?.update(u.rowsDone, { loss: fmtLoss(u.loss), rps: fmtRate(u.rowsPerSec) });
  }

  endEpoch(e: EpochEnd): void {
    this.bar?.stop();
    this.bar = null;
    const m = fmtMetrics(e.metrics);
    if (m) this.stream.write(`epoch ${e.epoch}/${this.epochs || e.epochs}:${m}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

export interface ProgressOptions {
  quiet?: boolean;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The reporter that suits the stream: nothing when quiet, a bar on a TTY, epoch lines otherwise. */
export function createProgress(opts: ProgressOptions = {}): ProgressReporter {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return new SilentProgress();
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream);
}
