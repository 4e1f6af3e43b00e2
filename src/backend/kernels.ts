/**
 * The compute kernels every backend implements: the native C++ addon (fast path) and the
 * pure-TypeScript reference (oracle for tests, fallback where the addon cannot build).
 *
 * Conventions shared by every kernel (both backends must follow them exactly):
 * - Arrays are row-major and contiguous; dimensions are passed explicitly.
 * - Kernels never allocate their outputs: the caller passes every output buffer.
 * - Backward kernels ACCUMULATE into gradient buffers (`dx[i] += ...`); the autograd layer
 *   zero-fills gradient buffers before a backward pass. Forward kernels OVERWRITE `out`.
 * - Results must not depend on the number of threads: any reduction is split into a fixed
 *   chunk decomposition that depends only on the sizes, and partial results are combined in
 *   chunk order. This is what makes training bit-identical with 1 or 2 threads.
 * - Kernels validate what is cheap to validate (buffer lengths vs dims, id ranges) and throw
 *   an Error whose message names the kernel and the offending sizes / value.
 */

/** Activations that can be fused into `linear` and computed from their output in backward. */
export type Activation = 'none' | 'relu' | 'sigmoid' | 'tanh' | 'smelu';

/** Elementwise unary functions. `param` is SmeLU's beta (ignored by the others). */
export type UnaryOp = 'relu' | 'sigmoid' | 'tanh' | 'softplus' | 'smelu' | 'exp' | 'log' | 'neg' | 'abs' | 'sqrt' | 'square';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

export interface Kernels {
  readonly name: 'native' | 'reference';

  /** Threads used by parallel kernels (1 for the reference backend). */
  setThreads(n: number): void;
  getThreads(): number;

  // ---------------------------------------------------------------- dense linear algebra

  /**
   * C[M,N] = alpha * op(A) * op(B) + beta * C, op(X) = X or Xᵀ.
   * A is stored [M,K] (transA=false) or [K,M] (transA=true); B is [K,N] or [N,K].
   * beta = 0 means C is overwritten (its old contents, even NaN, are ignored).
   */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void;

  /**
   * Fused dense layer forward: Y[M,N] = act(X[M,K] · W[K,N] + b[N]). `b` may be null.
   * `param` is SmeLU's beta.
   */
  linearForward(X: Float32Array, W: Float32Array, b: Float32Array | null, Y: Float32Array,
    M: number, K: number, N: number, act: Activation, param: number, packedW?: Float32Array | null): void;

  /**
   * W [K,N] packed once into the GEMM's weight panels, for inference with constant weights: given
   * as `packedW` to linearForward / crossForward, the GEMM skips packing W on every call and reads
   * X (A) in place, with the same bits (so the output must not overlap X). A pack is tied to the
   * GEMM blocking it was made under: under another (setGemmBlocking) it is ignored (slower, never
   * wrong), also when the blocking changes on another thread meanwhile.
   * Absent where the backend does not pack (the reference backend ignores `packedW`).
   */
  packWeights?(W: Float32Array, K: number, N: number): Float32Array;

  /**
   * Fused dense layer backward given the layer OUTPUT Y (activation derivative is taken from
   * Y) and dY. `dZ` is a scratch buffer of M*N floats the kernel may overwrite with
   * dY ⊙ act'(Y). Accumulates: dX += dZ·Wᵀ (if dX not null), dW += Xᵀ·dZ, db += Σ_rows dZ.
   * `overwrite` (bits 1 dX, 2 dW, 4 db; default 0) marks outputs whose contents are stale: those
   * are set, never read — a fresh gradient buffer then needs no zero pass — with the bits of
   * accumulating into zeros (up to the sign of a zero).
   */
  linearBackward(X: Float32Array, W: Float32Array, Y: Float32Array, dY: Float32Array,
    dZ: Float32Array, dX: Float32Array | null, dW: Float32Array | null, db: Float32Array | null,
    M: number, K: number, N: number, act: Activation, param: number, overwrite?: number): void;

  /**
   * DCN-v2 cross layer: out[M,D] = x0 ⊙ (A[M,K] · W[K,D] + b[D]) + x (b may be null), the
   * update applied in the GEMM epilogue. z (null at inference) receives A·W + b for backward.
   * Same bits as linearForward followed by binary mul and add.
   */
  crossForward(A: Float32Array, W: Float32Array, b: Float32Array | null, x0: Float32Array, x: Float32Array,
    out: Float32Array, z: Float32Array | null, M: number, K: number, D: number, packedW?: Float32Array | null): void;

  /**
   * Backward of crossForward from dOut: dZ = dOut ⊙ x0 (scratch, overwritten); accumulates
   * dx += dOut, dx0 += dOut ⊙ z, dA += dZ·Wᵀ, dW += Aᵀ·dZ, db += Σ_rows dZ (each may be null;
   * dx may be dx0 or dA). Same bits as the unfused ops' backward, in their order.
   */
  crossBackward(A: Float32Array, W: Float32Array, z: Float32Array, x0: Float32Array, dOut: Float32Array,
    dZ: Float32Array, dA: Float32Array | null, dW: Float32Array | null, db: Float32Array | null,
    dx0: Float32Array | null, dx: Float32Array | null, M: number, K: number, D: number): void;

  // ---------------------------------------------------------------- elementwise

  /** out = op(x), n elements. */
  unary(op: UnaryOp, x: Float32Array, out: Float32Array, n: number, param: number): void;
  /** dx += dy ⊙ op'(x) (y = op(x) is also given so kernels may use it). */
  unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array,
    n: number, param: number): void;

  /** dy ⊙ act'(y) for a fused activation, computed from the output y; out overwritten. */
  activationBackward(act: Activation, y: Float32Array, dy: Float32Array, out: Float32Array, n: number, param: number): void;

  /**
   * Broadcasting binary op (numpy rules). Shapes are right-aligned; `outShape` is the
   * broadcast shape (computed by the caller). At most 8 dims.
   */
  binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array,
    bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void;
  /** Accumulates da, db (either may be null) from dOut, reducing over broadcast dims. */
  binaryBackward(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array,
    bShape: readonly number[], dOut: Float32Array, outShape: readonly number[],
    da: Float32Array | null, db: Float32Array | null): void;

  /** out[i] = a * x[i] + b (affine map, used for scaling / constants). */
  affine(x: Float32Array, out: Float32Array, n: number, a: number, b: number): void;
  /** y[i] += a * x[i]. */
  axpy(n: number, a: number, x: Float32Array, y: Float32Array): void;

  /** y[i] = a * x[i] + b * y[i] (combining per-task gradients in place). */
  axpby(n: number, a: number, x: Float32Array, b: number, y: Float32Array): void;
  /** x[i] = value. */
  fill(x: Float32Array, n: number, value: number): void;

  // ---------------------------------------------------------------- reductions / layout

  /**
   * View x as [outer, len, inner]; out[o, i] = scale * Σ_a x[o, a, i] (sum/mean along an axis;
   * outer = inner = 1 reduces everything to one value). Fixed-order summation.
   */
  reduceSum(x: Float32Array, outer: number, len: number, inner: number, out: Float32Array, scale: number): void;
  /** dx[o, a, i] += scale * dOut[o, i]. */
  reduceSumBackward(dOut: Float32Array, outer: number, len: number, inner: number, dx: Float32Array, scale: number): void;

  /**
   * Strided 2-D block copy: for r < rows, c < cols:
   *   dst[dstOff + r*dstStride + c] (= or +=) src[srcOff + r*srcStride + c].
   * Concat, split and slice along any axis (and their backward) are built from this.
   */
  copy2d(src: Float32Array, srcOff: number, srcStride: number, dst: Float32Array, dstOff: number,
    dstStride: number, rows: number, cols: number, accumulate: boolean): void;

  /** Σ x[i]² in float64 with fixed-order chunked summation (gradient clipping, norms). */
  sumSquares(x: Float32Array, n: number): number;

  /** Σ x[i]·y[i] in float64, summed like sumSquares (Gram matrices of per-task gradients). */
  dot(x: Float32Array, y: Float32Array, n: number): number;

  /**
   * Gram matrices of per-task gradients, run by run: for each run r of `run` floats (the last
   * may be shorter) of the first n, out[r·m·m + a·m + b] += xs[a]·xs[b] over the run, a, b < m =
   * xs.length. Each entry equals `dot` over that run exactly, from one sweep over the vectors.
   */
  gram(xs: readonly Float32Array[], n: number, run: number, out: Float64Array): void;

  /**
   * xs[0][i] = Σₐ coef[r·m + a]·xs[a][i] for i < n, r = ⌊i / run⌋ (a combination of per-task
   * gradients with coefficients per run, written over the first): float64, a in order, rounded once.
   */
  combineRuns(xs: readonly Float32Array[], n: number, run: number, coef: Float64Array): void;

  // ---------------------------------------------------------------- softmax

  /**
   * Softmax (log=false) or log-softmax (log=true) over the middle axis of x viewed as
   * [outer, len, inner]; numerically stable (max subtracted).
   */
  softmax(x: Float32Array, outer: number, len: number, inner: number, out: Float32Array, log: boolean): void;
  /** dx += backward of softmax / log-softmax given its output y. */
  softmaxBackward(y: Float32Array, dy: Float32Array, outer: number, len: number, inner: number,
    dx: Float32Array, log: boolean): void;

  // ---------------------------------------------------------------- segments (lists, sequences)
  // x is [rows, d]; segment s covers rows offsets[s] .. offsets[s+1]-1; offsets has S+1
  // entries, non-decreasing, offsets[0] = 0, offsets[S] = rows. Empty segments are allowed.

  /** Per-segment softmax / log-softmax over rows, per column. Empty segment: nothing. */
  segmentSoftmax(x: Float32Array, d: number, offsets: Int32Array, out: Float32Array, log: boolean): void;
  segmentSoftmaxBackward(y: Float32Array, dy: Float32Array, d: number, offsets: Int32Array,
    dx: Float32Array, log: boolean): void;
  /** out[s, :] = Σ (or mean; empty segment gives 0) of rows of segment s. out is [S, d]. */
  segmentSum(x: Float32Array, d: number, offsets: Int32Array, out: Float32Array, mean: boolean): void;
  segmentSumBackward(dOut: Float32Array, d: number, offsets: Int32Array, dx: Float32Array, mean: boolean): void;

  /** out[p] = z[i[p]] - z[j[p]] (RankNet pairs; pair lists are built by the caller). */
  pairDiff(z: Float32Array, pi: Int32Array, pj: Int32Array, out: Float32Array, nPairs: number): void;
  /** dz[i[p]] += dOut[p]; dz[j[p]] -= dOut[p], in pair order. */
  pairDiffBackward(dOut: Float32Array, pi: Int32Array, pj: Int32Array, dz: Float32Array, nPairs: number): void;

  // ---------------------------------------------------------------- DIN target attention

  /**
   * DIN's attention unit with one hidden layer (src/nn/targetAttention.ts), fused. eb [P, d] are the
   * events, rows offsets[s] .. offsets[s+1]-1 row s's; et [S, d] the targets; W1 [4d, h] the
   * first layer over [e_b, e_t, e_b − e_t, e_b ⊙ e_t] (blocks A, B, C, D), b1 [h]; w2 [h] and
   * b2 [1] the output unit. Per event z = e_b·(A + C + diag(e_t)·D) + e_t·(B − C) + b1 (the
   * concatenation folded), s = act(z)·w2 + b2; pooled[s, :] = Σ s_p·eb[p, :] (overwritten; an
   * empty row gives 0).
   */
  targetAttention(eb: Float32Array, et: Float32Array, offsets: Int32Array, W1: Float32Array, b1: Float32Array,
    w2: Float32Array, b2: Float32Array, d: number, h: number, act: Activation, param: number, pooled: Float32Array): void;
  /** Backward of targetAttention given dPooled [S, d]: accumulates into the non-null gradients. */
  targetAttentionBackward(eb: Float32Array, et: Float32Array, offsets: Int32Array, W1: Float32Array, b1: Float32Array,
    w2: Float32Array, b2: Float32Array, d: number, h: number, act: Activation, param: number, dPooled: Float32Array,
    deb: Float32Array | null, det: Float32Array | null, dW1: Float32Array | null, db1: Float32Array | null,
    dw2: Float32Array | null, db2: Float32Array | null): void;

  // ---------------------------------------------------------------- losses

  /**
   * Weighted BCE with logits, stable form: loss = Σ w_i (softplus(z_i) − y_i z_i) / Σ w_i
   * (w = null means all ones). Writes dz[i] = w_i (σ(z_i) − y_i) / Σ w (overwritten)
   * and returns the loss (float64 accumulation). Throws if Σ w ≤ 0.
   */
  bceWithLogits(z: Float32Array, y: Float32Array, w: Float32Array | null, n: number, dz: Float32Array): number;

  // ---------------------------------------------------------------- normalisation / dropout

  /**
   * Layer norm over the last dim of x [rows, d]: out = (x − μ)/√(σ² + eps) · gamma + beta.
   * Saves mean[rows] and rstd[rows] for backward.
   */
  layerNorm(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array,
    eps: number, out: Float32Array, mean: Float32Array, rstd: Float32Array): void;
  layerNormBackward(x: Float32Array, dy: Float32Array, rows: number, d: number, gamma: Float32Array,
    mean: Float32Array, rstd: Float32Array, dx: Float32Array | null, dgamma: Float32Array | null,
    dbeta: Float32Array | null): void;

  /**
   * Batch norm over rows (per column) of x [rows, d] in training mode: batch statistics
   * (biased variance), saves mean[d] / rstd[d], and updates running stats:
   * run = (1 − momentum) · run + momentum · batch (running var uses the unbiased variance).
   */
  batchNormTrain(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array,
    eps: number, momentum: number, runMean: Float32Array, runVar: Float32Array, out: Float32Array,
    mean: Float32Array, rstd: Float32Array): void;
  batchNormBackward(x: Float32Array, dy: Float32Array, rows: number, d: number, gamma: Float32Array,
    mean: Float32Array, rstd: Float32Array, dx: Float32Array | null, dgamma: Float32Array | null,
    dbeta: Float32Array | null): void;

  /**
   * Inverted dropout with a counter-based RNG (identical in both backends, independent of
   * threads): element i is kept iff uniform(seed, i) >= p, where uniform is `dropoutUniform`
   * below; kept elements are scaled by 1/(1−p). mask[i] = 1/(1−p) or 0; out = x ⊙ mask.
   */
  dropout(x: Float32Array, n: number, p: number, seed: number, mask: Float32Array, out: Float32Array): void;

  // ---------------------------------------------------------------- sparse embeddings

  /**
   * Gather: out[b, :] = table[ids[b], :] for b < n. table has numRows rows of dim floats.
   * Any id outside [0, numRows) throws (naming the id and its position).
   */
  embeddingLookup(table: Float32Array, numRows: number, dim: number, ids: Int32Array, n: number, out: Float32Array): void;

  /**
   * Bag pooling: out[s, :] = Σ_{k in bag s} wts[k] · table[ids[k], :]; bags given by offsets
   * (S+1 entries); wts may be null (all 1); mean=true divides by the bag size (empty bag → 0).
   */
  embeddingBag(table: Float32Array, numRows: number, dim: number, ids: Int32Array, offsets: Int32Array,
    wts: Float32Array | null, mean: boolean, out: Float32Array): void;

  /**
   * Row-sparse gradient of a lookup (offsets = null: one id per output row) or a bag.
   * Writes the unique ids touched, in ASCENDING order, into uniqueRows and their summed
   * gradient rows into rowGrads [U, dim] (overwritten); returns U. Summation for a row runs in
   * increasing position order (deterministic). Capacity of uniqueRows/rowGrads: ids.length rows.
   * Never allocates anything proportional to numRows.
   */
  embeddingBackward(ids: Int32Array, n: number, dOut: Float32Array, dim: number, numRows: number,
    offsets: Int32Array | null, wts: Float32Array | null, mean: boolean,
    uniqueRows: Int32Array, rowGrads: Float32Array): number;

  // ---------------------------------------------------------------- optimiser updates
  // Dense updates run over n elements. Sparse updates touch only the given rows.

  /** p −= lr·(g + wd·p) with optional (Nesterov) momentum buffer mom (PyTorch SGD semantics). */
  sgdStep(p: Float32Array, g: Float32Array, mom: Float32Array | null, n: number, lr: number,
    momentum: number, dampening: number, nesterov: boolean, weightDecay: number, firstStep: boolean): void;
  /** acc += g²; p −= lr·g/(√acc + eps) (PyTorch Adagrad, weight decay added to g). */
  adagradStep(p: Float32Array, g: Float32Array, acc: Float32Array, n: number, lr: number, eps: number, weightDecay: number): void;
  /**
   * Adam (decoupled=false, wd added to g) / AdamW (decoupled=true: p −= lr·wd·p first),
   * step = 1-based step count for bias correction (PyTorch semantics).
   */
  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: boolean, step: number): void;

  /** table[rows[u], :] −= lr · rowGrads[u, :]. */
  sparseSgd(table: Float32Array, dim: number, rows: Int32Array, rowGrads: Float32Array, U: number, lr: number): void;
  /**
   * Sparse AdaGrad over touched rows. rowwise=true: acc has one value per table row and
   * acc[r] += mean_k g[r,k]²; otherwise acc is [numRows*dim] element-wise.
   */
  sparseAdagrad(table: Float32Array, dim: number, acc: Float32Array, rows: Int32Array, rowGrads: Float32Array,
    U: number, lr: number, eps: number, rowwise: boolean): void;
  /**
   * Lazy Adam (PyTorch SparseAdam): moments of touched rows only; bias correction with the
   * global 1-based step.
   */
  sparseAdam(table: Float32Array, dim: number, m: Float32Array, v: Float32Array, rows: Int32Array,
    rowGrads: Float32Array, U: number, lr: number, beta1: number, beta2: number, eps: number, step: number): void;
}

/**
 * Counter-based uniform in [0,1) used by dropout (and anything that needs reproducible
 * per-element randomness): 32-bit mix of (seed, index), as implemented identically in C++.
 */
export function dropoutUniform(seed: number, i: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i >>> 0, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return (h >>> 8) / 16777216;
}
