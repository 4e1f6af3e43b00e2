/**
 * Gradient probes (KDD'24 §2.3.4): with sparse positives, BCE's gradient on negative logits
 * vanishes and the bottom layers barely learn; an auxiliary ranking loss enlarges both. Per
 * step we record
 *   grad_neg_logit / grad_pos_logit: mean ‖∂L/∂z_i‖ over negative / positive samples (|·| for
 *     one logit per row, the L2 norm of the row for JRC's two);
 *   grad_emb_mean / grad_emb_p90: mean and 90th percentile of the L2 norms of the embedding
 *     rows touched in the batch (row-sparse gradients, never densified);
 *   grad_<name>_mean / grad_<name>_p90: the same over the rows of each named weight's gradient
 *     (e.g. the first MLP layer's and first cross layer's W, stored [in, out]: one row per input).
 * Values are null where the set is empty (no positive in the batch), so a record is valid JSON.
 *
 * The logits are usually an intermediate of the model, and intermediate gradients are dropped
 * at endStep; `LogitGradCapture.watch(z)` puts an identity on the tape that copies ∂L/∂z into a
 * persistent buffer during backward. Call `read` after `trainStep` returns (the optimiser has
 * reduced the embedding gradients and parameter gradients stay until the next zeroGrad — they
 * are what the optimiser saw, e.g. after clipping), or between backward and endStep.
 */
import type { EmbeddingTable, Tensor } from '../tensor/tensor.js';
import { K, empty, gradOf, record } from '../autograd/tape.js';
import { reducePending } from '../autograd/ops/embedding.js';

/** One step's probes, ready for a JSONL log line. */
export type ProbeRecord = Record<string, number | null>;

/** Identity on the tape that keeps a copy of the gradient flowing through it. */
export class LogitGradCapture {
  /** ∂L/∂z from the last backward through `watch` (persistent; null before any). */
  grad: Float32Array | null = null;
  private buf: Float32Array | null = null;

  /** Returns a copy of z to compute the loss from; its gradient is captured, then passed on to z. */
  watch(z: Tensor): Tensor {
    this.grad = null;
    const out = empty(z.shape);
    out.data.set(z.data);
    return record(out, [z], () => {
      if (!this.buf || this.buf.length !== out.size) this.buf = new Float32Array(out.size);
      const g = out.grad;
      if (g) {
        this.buf.set(g);
        K().axpy(out.size, 1, g, gradOf(z));
      } else {
        this.buf.fill(0);
      }
      this.grad = this.buf;
    });
  }
}

/** Mean per-row gradient norm over negatives (y ≤ 0.5) and positives; dz has 1 or more values per label. */
export function logitGradNorms(dz: ArrayLike<number>, labels: ArrayLike<number>): { neg: number | null; pos: number | null } {
  const n = labels.length;
  if (n === 0 || dz.length % n !== 0) throw new Error(`logitGradNorms: ${dz.length} gradient values for ${n} labels`);
  const w = dz.length / n;
  let sn = 0, cn = 0, sp = 0, cp = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < w; k++) s += dz[i * w + k]! ** 2;
    if (labels[i]! > 0.5) { sp += Math.sqrt(s); cp++; } else { sn += Math.sqrt(s); cn++; }
  }
  return { neg: cn ? sn / cn : null, pos: cp ? sp / cp : null };
}

/** L2 norm of each of the first `rows` rows of a row-major [·, dim] array. */
export function rowNorms(values: ArrayLike<number>, rows: number, dim: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += values[r * dim + d]! ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Mean and nearest-rank 90th percentile (the ⌈0.9·n⌉-th smallest); nulls when empty. */
export function meanP90(xs: Float64Array): { mean: number | null; p90: number | null } {
  if (xs.length === 0) return { mean: null, p90: null };
  const s = Float64Array.from(xs).sort();
  let m = 0;
  for (const v of s) m += v;
  return { mean: m / s.length, p90: s[Math.ceil(0.9 * s.length) - 1]! };
}

export interface ProbeInput {
  /** ∂L/∂z for the step (LogitGradCapture.grad) and the labels it belongs to. */
  logitGrad?: ArrayLike<number> | null;
  labels?: ArrayLike<number>;
  /** Embedding tables whose touched rows to summarise (pooled together as grad_emb_*). */
  embeddings?: readonly EmbeddingTable[];
  /** Named dense weights ([in, out], gradient in .grad), e.g. { mlp0: W, cross0: W }. */
  layers?: Readonly<Record<string, Tensor>>;
}

export function gradientProbes(input: ProbeInput): ProbeRecord {
  const rec: ProbeRecord = {};
  if (input.logitGrad && input.labels) {
    const { neg, pos } = logitGradNorms(input.logitGrad, input.labels);
    rec.grad_neg_logit = neg;
    rec.grad_pos_logit = pos;
  }
  if (input.embeddings && input.embeddings.length > 0) {
    const parts: Float64Array[] = [];
    for (const t of input.embeddings) {
      if (!t.trainable) continue;
      const g = t.sparseGrad(reducePending(t));
      parts.push(rowNorms(g.values, g.count, t.dim));
    }
    const all = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    const { mean, p90 } = meanP90(all);
    rec.grad_emb_mean = mean;
    rec.grad_emb_p90 = p90;
  }
  for (const [name, w] of Object.entries(input.layers ?? {})) {
    const rows = w.shape[0] ?? 0;
    const g = w.root().grad;
    const { mean, p90 } = g && rows > 0 ? meanP90(rowNorms(g, rows, w.size / rows)) : { mean: null, p90: null };
    rec[`grad_${name}_mean`] = mean;
    rec[`grad_${name}_p90`] = p90;
  }
  return rec;
}

/** Capture + summary in one object: `watch` the logits each step, `read` after the step. */
export class GradientProbe {
  private readonly capture = new LogitGradCapture();
  private labels: Float32Array | null = null;

  constructor(private readonly targets: Omit<ProbeInput, 'logitGrad' | 'labels'> = {}) {}

  /** Wrap the model's logits before the loss; labels are copied (batch buffers may be reused). */
  watch(z: Tensor, labels: Float32Array): Tensor {
    this.labels = Float32Array.from(labels);
    return this.capture.watch(z);
  }

  /** ∂L/∂z of the last step (null before any backward). */
  get logitGrad(): Float32Array | null {
    return this.capture.grad;
  }

  read(): ProbeRecord {
    return gradientProbes({ ...this.targets, logitGrad: this.capture.grad, labels: this.labels ?? undefined });
  }
}
