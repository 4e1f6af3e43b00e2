/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one), so
 * that several servers in one process (the tests) do not share counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ModelLabels {
  version: string;
  type: string;
  dataHash: string;
}

/** What a response status counts as in ctrkit_serve_errors_total. */
export function errorKind(status: number): string | undefined {
  if (status < 400) return undefined;
  switch (status) {
    case 400: return 'bad_request';
    case 401: return 'unauthorized';
    case 404: return 'not_found';
    case 413: return 'too_large';
    case 503: return 'unavailable';
    default: return status >= 500 ? 'internal' : 'client';
  }
}

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'status'>;
  readonly errors: Counter<'route' | 'kind'>;
  readonly latency: Histogram<'route'>;
  readonly requestRows: Histogram;
  readonly batchRows: Histogram;
  readonly batches: Counter<'scorer'>;
  readonly reloads: Counter<'result'>;
  private readonly model: Gauge<'version' | 'type' | 'data_hash'>;
  private readonly loadedAt: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'ctrkit_serve_' });
    this.requests = new Counter({ name: 'ctrkit_serve_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers });
    this.errors = new Counter({ name: 'ctrkit_serve_errors_total', help: 'HTTP responses >= 400 by route and kind', labelNames: ['route', 'kind'], registers });
    this.latency = new Histogram({
      name: 'ctrkit_serve_request_duration_seconds', help: 'Time from request to response', labelNames: ['route'], registers,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    });
    const rowBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
    this.requestRows = new Histogram({ name: 'ctrkit_serve_request_rows', help: 'Rows per predict request', buckets: rowBuckets, registers });
    this.batchRows = new Histogram({ name: 'ctrkit_serve_batch_rows', help: 'Rows per scored batch (requests coalesced)', buckets: rowBuckets, registers });
    this.batches = new Counter({ name: 'ctrkit_serve_batches_total', help: 'Predict batches scored, by where (thread, event_loop)', labelNames: ['scorer'], registers });
    this.reloads = new Counter({ name: 'ctrkit_serve_reloads_total', help: 'Model reload attempts by result (ok, failed)', labelNames: ['result'], registers });
    this.model = new Gauge({ name: 'ctrkit_serve_model_info', help: 'The model being served (value 1)', labelNames: ['version', 'type', 'data_hash'], registers });
    this.loadedAt = new Gauge({ name: 'ctrkit_serve_model_loaded_timestamp_seconds', help: 'When the served model was loaded', registers });
    this.reloads.inc({ result: 'ok' }, 0);
    this.reloads.inc({ result: 'failed' }, 0);
  }

  setModel(m: ModelLabels): void {
    this.model.reset();
    this.model.set({ version: m.version, type: m.type, data_hash: m.dataHash }, 1);
    this.loadedAt.setToCurrentTime();
  }
}
