/**
 * PE-LTR (Lin et al. 2019, "A Pareto-Efficient Algorithm for Multiple Objective Optimization in
 * E-Commerce Recommendation"): weights w minimising ‖Σₜ wₜ gₜ‖² over the shared gradient subject
 * to Σ w = 1 and wₜ ≥ cₜ. As in the paper, the equality-only problem is solved in closed form,
 * w* = M⁻¹1 / (1ᵀM⁻¹1) with Mᵢⱼ = gᵢ·gⱼ (the Lagrange condition 2Mw = λ1), and w* is then
 * projected (Euclidean) onto {Σ w = 1, w ≥ c}: w = c + the projection of w* − c onto the simplex
 * of radius 1 − Σc. A singular M (two tasks' shared gradients parallel, or one zero) gets a small
 * ridge, which picks the most even of the equally good solutions.
 *
 * Scaling: the weights are applied as T·wₜ (they sum to T, the number of tasks), so equal
 * weights give exactly the gradient of the summed losses and the learning rate tuned for
 * static weights carries over; the paper's Σ w = 1 would divide every shared step by T.
 * Task-specific blocks pass through unweighted (method.ts).
 */
import { z } from 'zod';
import type { GradientBlock } from '../../autograd/taskGradients.js';
import type { MetricValue } from '../metricLog.js';
import type { GradientLevelMethod } from './method.js';
import { combineSegments } from './segments.js';

const stateSchema = z.strictObject({ sums: z.array(z.number()), steps: z.number().int().min(0) });

export class PeLtr implements GradientLevelMethod {
  readonly name = 'pe-ltr';
  readonly level = 'gradient';
  private readonly T: number;
  /** Σ of the applied weights T·w over the epoch's steps, for the epoch record. */
  private sums: Float64Array;
  private steps = 0;
  /** The finished epoch's record (the trainer asks for it after endEpoch). */
  private finished: Record<string, MetricValue> | null = null;

  constructor(private readonly taskNames: readonly string[], readonly minWeights: readonly number[]) {
    this.T = taskNames.length;
    const total = minWeights.reduce((a, b) => a + b, 0);
    if (minWeights.length !== this.T || minWeights.some((c) => !(c >= 0)) || total > 1 + 1e-9) {
      throw new Error(`pe-ltr: minWeights must be ${this.T} values ≥ 0 summing to at most 1, got [${minWeights.join(', ')}]`);
    }
    this.sums = new Float64Array(this.T);
  }

  combine(blocks: readonly GradientBlock[]): Float32Array[] {
    const T = this.T;
    return combineSegments(blocks, T, { split: 'none', chunkSize: 0 }, ({ gram }) => {
      const w = projectOntoBoundedSimplex(minNormWeights(gram, T), this.minWeights);
      for (let t = 0; t < T; t++) {
        w[t] = w[t]! * T;
        this.sums[t] = this.sums[t]! + w[t]!;
      }
      this.steps++;
      return w;
    });
  }

  endEpoch(): void {
    this.finished = this.meanWeights();
    this.sums.fill(0);
    this.steps = 0;
  }

  /** The last finished epoch's mean applied weight per task (T·w); the running means before. */
  epochRecord(): Record<string, MetricValue> {
    return this.finished ?? this.meanWeights();
  }

  private meanWeights(): Record<string, MetricValue> {
    return Object.fromEntries(this.taskNames.map((n, t) => [`weight_${n}`, this.steps > 0 ? this.sums[t]! / this.steps : null]));
  }

  save(): unknown {
    return { sums: Array.from(this.sums), steps: this.steps };
  }

  load(state: unknown): void {
    const r = stateSchema.safeParse(state);
    if (!r.success || r.data.sums.length !== this.T) throw new Error(`pe-ltr state: expected { sums: ${this.T} numbers, steps }, got ${JSON.stringify(state)}`);
    this.sums = Float64Array.from(r.data.sums);
    this.steps = r.data.steps;
  }
}

/** argmin ‖Σ wₜ gₜ‖² s.t. Σ w = 1 (no sign constraint), from the Gram matrix M (T × T). */
export function minNormWeights(gram: Float64Array, T: number): Float64Array {
  let trace = 0;
  for (let t = 0; t < T; t++) trace += gram[t * T + t]!;
  const even = new Float64Array(T).fill(1 / T);
  if (!(trace > 0)) return even;
  for (const ridge of [0, 1e-9, 1e-6, 1e-3]) {
    const m = Float64Array.from(gram);
    for (let t = 0; t < T; t++) m[t * T + t] = m[t * T + t]! + (ridge * trace) / T;
    const x = solve(m, T, new Float64Array(T).fill(1), 1e-12 * trace);
    if (!x) continue;
    let s = 0;
    for (const v of x) s += v;
    if (!(Math.abs(s) > 0) || !Number.isFinite(s)) continue;
    for (let t = 0; t < T; t++) x[t] = x[t]! / s;
    return x;
  }
  return even;
}

/** Solves A x = b (A row-major n × n) by Gaussian elimination with partial pivoting; null when a pivot is ≤ tiny. */
function solve(A: Float64Array, n: number, b: Float64Array, tiny: number): Float64Array | null {
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(A[r * n + col]!) > Math.abs(A[p * n + col]!)) p = r;
    if (!(Math.abs(A[p * n + col]!) > tiny)) return null;
    if (p !== col) {
      for (let k = 0; k < n; k++) [A[p * n + k], A[col * n + k]] = [A[col * n + k]!, A[p * n + k]!];
      [b[p], b[col]] = [b[col]!, b[p]!];
    }
    for (let r = col + 1; r < n; r++) {
      const f = A[r * n + col]! / A[col * n + col]!;
      for (let k = col; k < n; k++) A[r * n + k] = A[r * n + k]! - f * A[col * n + k]!;
      b[r] = b[r]! - f * b[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < n; k++) s -= A[r * n + k]! * x[k]!;
    x[r] = s / A[r * n + r]!;
  }
  return x;
}

/**
 * Euclidean projection of w onto {Σ w = 1, wₜ ≥ cₜ} (Σ c ≤ 1): c plus the projection of w − c
 * onto the simplex of radius 1 − Σ c (sort-based, Duchi et al. 2008).
 */
export function projectOntoBoundedSimplex(w: ArrayLike<number>, c: readonly number[]): Float64Array {
  const T = c.length;
  const radius = 1 - c.reduce((a, b) => a + b, 0);
  if (!(radius > 0)) return Float64Array.from(c);
  const v = Float64Array.from({ length: T }, (_, t) => w[t]! - c[t]!);
  const u = Float64Array.from(v).sort().reverse();
  let cum = 0, theta = 0;
  for (let k = 0; k < T; k++) {
    cum += u[k]!;
    const t = (cum - radius) / (k + 1);
    if (u[k]! - t > 0) theta = t;
  }
  return Float64Array.from({ length: T }, (_, t) => Math.max(v[t]! - theta, 0) + c[t]!);
}
