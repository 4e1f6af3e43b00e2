/**
 * Shampoo (Gupta et al. 2018; Anil et al. 2020, as used on Google's ads models): for each 2-D
 * weight, split into blocks of at most blockSize × blockSize, with per block
 *   L ← β₂L + G Gᵀ,  R ← β₂R + Gᵀ G,  direction D = L^{−1/4} G R^{−1/4},
 * where the inverse roots are recomputed in float64 every `precondEvery` steps. The step size
 * is grafted from AdaGrad: D is rescaled per block to the norm of the AdaGrad step of that
 * block, so Shampoo chooses the direction and AdaGrad the per-layer learning rate. Before
 * `startStep`, and for vectors (biases, 1×n / n×1 weights) and scalars, the AdaGrad step is used
 * as is. Optional (Nesterov) momentum is applied to the grafted step. Embedding tables keep
 * row-wise sparse AdaGrad (touched rows only).
 *
 * All state is float32 in the base class's buffers (statistics, roots, AdaGrad accumulator,
 * momentum), so checkpoints restore it exactly; the GEMMs go through the backend kernels, and
 * only the eigendecompositions behind the roots run in float64 (src/optim/matrixRoot.ts).
 */
import { backend } from '../backend/index.js';
import type { EmbeddingTable, Parameter, SparseGrad } from '../tensor/tensor.js';
import { inverseRoot } from './matrixRoot.js';
import { Optimizer, type GroupOptions, type GroupSpec } from './optimizer.js';

export interface ShampooOptions extends GroupOptions {
  /** Decay of the L/R statistics (1: AdaGrad-style accumulation). */
  beta2: number;
  /** Momentum coefficient β₁ applied to the grafted step (0: none). */
  momentum: number;
  /** Nesterov form of the momentum (used when momentum > 0). */
  nesterov: boolean;
  /** AdaGrad (grafting and tables) epsilon. */
  eps: number;
  /** Damping of the statistics before the inverse root, relative to their largest eigenvalue. */
  matrixEps: number;
  /** Largest side of a preconditioned block. */
  blockSize: number;
  /** Recompute the inverse roots every this many steps. */
  precondEvery: number;
  /** First step (1-based) that uses the Shampoo direction; earlier steps use AdaGrad only. */
  startStep: number;
  weightDecay: number;
}

interface Block {
  r0: number;
  rows: number;
  c0: number;
  cols: number;
  /** State-key prefix of the block. */
  key: string;
  /** The block as error messages name it. */
  label: string;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`Shampoo: ${name} must be an integer >= ${min}, got ${v}`);
}

export class Shampoo extends Optimizer<ShampooOptions> {
  /** Scratch buffers (not state): gradient with decay, direction, block copies. */
  private readonly scratch = new Map<string, Float32Array>();

  constructor(groups: GroupSpec<ShampooOptions>[], defaults: Partial<ShampooOptions> & { lr: number }) {
    super(groups, {
      beta2: 1, momentum: 0, nesterov: true, eps: 1e-10, matrixEps: 1e-6, blockSize: 128, precondEvery: 100,
      startStep: 1, weightDecay: 0, ...defaults,
    });
    for (const { options: o } of this.groups) {
      checkInt('blockSize', o.blockSize, 2);
      checkInt('precondEvery', o.precondEvery, 1);
      checkInt('startStep', o.startStep, 1);
      if (!(o.beta2 > 0 && o.beta2 <= 1)) throw new Error(`Shampoo: beta2 must be in (0, 1], got ${o.beta2}`);
      if (!(o.momentum >= 0 && o.momentum < 1)) throw new Error(`Shampoo: momentum must be in [0, 1), got ${o.momentum}`);
      if (!(o.matrixEps > 0)) throw new Error(`Shampoo: matrixEps must be > 0, got ${o.matrixEps}`);
    }
  }

  /** Scratch buffer of exactly n floats (a view of a reused allocation). */
  private buf(name: string, n: number): Float32Array {
    let b = this.scratch.get(name);
    if (!b || b.length < n) {
      b = new Float32Array(n);
      this.scratch.set(name, b);
    }
    return b.subarray(0, n);
  }

  /** Blocks of a 2-D weight; none for vectors and scalars, which AdaGrad alone updates. */
  private blocks(p: Parameter, key: string, size: number): Block[] {
    if (p.shape.length !== 2) return [];
    const [m, n] = p.shape as [number, number];
    if (m < 2 || n < 2) return [];
    const out: Block[] = [];
    for (let r0 = 0; r0 < m; r0 += size) {
      for (let c0 = 0; c0 < n; c0 += size) {
        out.push({
          r0, rows: Math.min(size, m - r0), c0, cols: Math.min(size, n - c0), key: `${key}.b${r0 / size}_${c0 / size}`,
          label: `'${p.name}' [${m}×${n}] rows ${r0}…, columns ${c0}…`,
        });
      }
    }
    return out;
  }

  protected updateDense(p: Parameter, key: string, o: ShampooOptions): void {
    const k = backend();
    const size = p.size;
    let g = p.grad;
    if (o.weightDecay !== 0) {
      g = this.buf('g', size);
      for (let i = 0; i < size; i++) g[i] = p.grad[i]! + o.weightDecay * p.data[i]!;
    }
    // AdaGrad step (the grafting direction) a = g/(√acc + ε) with acc += g², from the AdaGrad
    // kernel applied to a zero "parameter" with learning rate −1.
    const acc = this.slot(`${key}.acc`, size);
    const dir = this.buf('dir', size);
    dir.fill(0);
    k.adagradStep(dir, g, acc, size, -1, o.eps, 0);
    const cols = p.shape.length === 2 ? p.shape[1]! : size;
    const step = this.stepCount;
    const active = step >= o.startStep;
    const refresh = active && (step - o.startStep) % o.precondEvery === 0;
    for (const b of this.blocks(p, key, o.blockSize)) this.shampooBlock(b, g, dir, cols, o, active, refresh);
    // Momentum on the grafted step, by the SGD kernel: m ← β₁m + d; p −= lr·(d + β₁m) (Nesterov) or lr·m.
    const first = !this.state.has(`${key}.mom`);
    const mom = o.momentum !== 0 ? this.slot(`${key}.mom`, size) : null;
    k.sgdStep(p.data, dir, mom, size, o.lr, o.momentum, 0, o.nesterov && o.momentum !== 0, 0, first);
  }

  /** Updates the block's statistics and, when active, replaces its part of `dir` by the grafted Shampoo direction. */
  private shampooBlock(b: Block, g: Float32Array, dir: Float32Array, cols: number, o: ShampooOptions, active: boolean, refresh: boolean): void {
    const k = backend();
    const { rows: m, cols: n } = b;
    const gb = this.buf('gb', m * n);
    for (let i = 0; i < m; i++) gb.set(g.subarray((b.r0 + i) * cols + b.c0, (b.r0 + i) * cols + b.c0 + n), i * n);
    const L = this.slot(`${b.key}.L`, m * m);
    const R = this.slot(`${b.key}.R`, n * n);
    k.gemm(false, true, m, m, n, 1, gb, gb, o.beta2, L);
    k.gemm(true, false, n, n, m, 1, gb, gb, o.beta2, R);
    if (!active) return;
    const Lr = this.slot(`${b.key}.Lroot`, m * m);
    const Rr = this.slot(`${b.key}.Rroot`, n * n);
    if (refresh) {
      Lr.set(this.root(L, m, o, b.label, 'L'));
      Rr.set(this.root(R, n, o, b.label, 'R'));
    }
    const t = this.buf('t', m * n);
    const d = this.buf('d', m * n);
    k.gemm(false, false, m, n, m, 1, Lr, gb, 0, t);
    k.gemm(false, false, m, n, n, 1, t, Rr, 0, d);
    // Grafting: the AdaGrad step's norm over this block, Shampoo's direction.
    let adaNorm = 0;
    let dNorm = 0;
    for (let i = 0; i < m; i++) {
      const off = (b.r0 + i) * cols + b.c0;
      for (let j = 0; j < n; j++) {
        adaNorm += dir[off + j]! ** 2;
        dNorm += d[i * n + j]! ** 2;
      }
    }
    // A zero Shampoo direction (zero gradient block) keeps the AdaGrad step, which is zero too
    // unless the roots are stale; never divide by zero.
    if (dNorm === 0) return;
    const scale = Math.sqrt(adaNorm / dNorm);
    for (let i = 0; i < m; i++) {
      const off = (b.r0 + i) * cols + b.c0;
      for (let j = 0; j < n; j++) dir[off + j] = d[i * n + j]! * scale;
    }
  }

  private root(stat: Float32Array, n: number, o: ShampooOptions, label: string, side: string): Float64Array {
    try {
      return inverseRoot(stat, n, 4, o.matrixEps);
    } catch (e) {
      throw new Error(`Shampoo: statistics ${side} of parameter ${label}: ${(e as Error).message} (diverged gradients?)`);
    }
  }

  protected updateTable(t: EmbeddingTable, g: SparseGrad, key: string, o: ShampooOptions): void {
    const acc = this.slot(`${key}.acc`, t.numRows);
    backend().sparseAdagrad(t.data, t.dim, acc, g.rows, g.values, g.count, o.lr, o.eps, true);
  }
}
