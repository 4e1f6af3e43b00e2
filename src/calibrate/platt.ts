/**
 * Platt scaling: q = σ(a·z + b) fitted on held-out logits z by weighted maximum likelihood.
 *
 * Matches scikit-learn 1.2 `CalibratedClassifierCV(method='sigmoid')` (its `_sigmoid_calibration`,
 * fed the decision function = the logit): same objective, including Platt's target smoothing —
 * positives get target (N₊ + 1)/(N₊ + 2) and negatives 1/(N₋ + 2), with N₊/N₋ the positive/negative
 * weight sums — and the same weighting. sklearn writes P = 1/(1 + exp(A·F + B)), so a = −A, b = −B.
 * With `targetSmoothing: false` the fit is plain weighted logistic regression of y on z, i.e.
 * sklearn `LogisticRegression(C=∞)` on the single feature z.
 *
 * Solver: Newton's method on the 2×2 problem (= IRLS), with step halving so that the loss never
 * increases. It converges quadratically to the exact optimum (gradient ~1e-12), whereas sklearn stops
 * BFGS at gradient norm 1e-5: that, not this code, bounds the agreement with sklearn.
 */
import { type NumericArray } from '../metrics/common.js';
import { BaseCalibrator } from './base.js';
import { ScoreSpace, sigmoid, toLogit } from './scoreSpace.js';

export interface PlattOptions {
  readonly weights?: NumericArray;
  /** Platt's smoothed targets (default true, as sklearn). */
  readonly targetSmoothing?: boolean;
  readonly maxIterations?: number;
}

export interface PlattFit {
  readonly a: number;
  readonly b: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** Final weighted negative log-likelihood (sum, not mean). */
  readonly loss: number;
}

/** softplus(u) = ln(1 + e^u) in the form that neither overflows nor loses digits. */
function softplus(u: number): number {
  return Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
}

/**
 * Fits a, b of σ(a·z + b) to 0/1 `labels` given finite logits `z`.
 * @throws RangeError on mismatched lengths, non-finite logits, labels outside {0,1}, bad weights,
 * or zero total weight.
 */
export function fitPlatt(z: NumericArray, labels: NumericArray, opts: PlattOptions = {}): PlattFit {
  const what = 'fitPlatt';
  const n = z.length;
  const w = opts.weights;
  if (labels.length !== n) throw new RangeError(`${what}: labels has length ${labels.length}, expected ${n}`);
  if (w !== undefined && w.length !== n) throw new RangeError(`${what}: weights has length ${w.length}, expected ${n}`);
  let pos = 0, neg = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(z[i]!)) throw new RangeError(`${what}: logit at index ${i} is ${String(z[i])}, expected a finite value`);
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`${what}: label at index ${i} is ${String(y)}, expected 0 or 1`);
    const wi = w === undefined ? 1 : w[i]!;
    if (!(wi >= 0) || !Number.isFinite(wi)) throw new RangeError(`${what}: weight at index ${i} is ${String(wi)}, expected a finite value >= 0`);
    if (y === 1) pos += wi; else neg += wi;
  }
  if (!(pos + neg > 0)) throw new RangeError(`${what}: zero total weight`);
  const smooth = opts.targetSmoothing ?? true;
  const tPos = smooth ? (pos + 1) / (pos + 2) : 1;
  const tNeg = smooth ? 1 / (neg + 2) : 0;
  const target = (i: number): number => (labels[i] === 1 ? tPos : tNeg);
  const weight = (i: number): number => (w === undefined ? 1 : w[i]!);

  const lossAt = (a: number, b: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const u = a * z[i]! + b;
      s += weight(i) * (softplus(u) - target(i) * u);
    }
    return s;
  };

  // sklearn's starting point, so both solvers head for the optimum from the same place.
  let a = 0, b = Math.log((pos + 1) / (neg + 1));
  let loss = lossAt(a, b);
  const maxIt = opts.maxIterations ?? 100;
  let it = 0;
  let converged = false;
  for (; it < maxIt; it++) {
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (let i = 0; i < n; i++) {
      const zi = z[i]!;
      const q = sigmoid(a * zi + b);
      const wi = weight(i);
      const r = wi * (q - target(i));
      ga += r * zi; gb += r;
      const h = wi * q * (1 - q);
      haa += h * zi * zi; hab += h * zi; hbb += h;
    }
    const scale = pos + neg;
    if (Math.abs(ga) + Math.abs(gb) <= 1e-12 * scale) { converged = true; break; }
    // Newton direction; a tiny ridge keeps it defined when all z are equal (then a is not identifiable).
    const ridge = 1e-12 * (haa + hbb + 1);
    const A = haa + ridge, D = hbb + ridge;
    const det = A * D - hab * hab;
    let da = -(D * ga - hab * gb) / det;
    let db = -(A * gb - hab * ga) / det;
    let t = 1;
    let next = lossAt(a + da, b + db);
    while (!(next <= loss) && t > 1e-10) {
      t /= 2; da /= 2; db /= 2;
      next = lossAt(a + da, b + db);
    }
    if (!(next <= loss)) { converged = true; break; } // no descent possible: at the optimum to rounding
    a += da; b += db;
    loss = next;
    // Near the optimum the loss stops changing in float64 before the gradient test passes; the
    // Newton steps themselves keep shrinking quadratically, so stop on their size instead.
    if (Math.abs(da) + Math.abs(db) <= 1e-14 * (1 + Math.abs(a) + Math.abs(b))) { converged = true; it++; break; }
  }
  return { a, b, iterations: it, converged, loss };
}

/** A fitted Platt calibrator: q = σ(a·z + b), z the logit of the input. */
export class PlattCalibrator extends BaseCalibrator {
  readonly kind = 'platt';

  constructor(readonly a: number, readonly b: number) {
    super();
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw new RangeError(`PlattCalibrator: a and b must be finite, got a = ${a}, b = ${b}`);
  }

  static fit(z: NumericArray, labels: NumericArray, opts: PlattOptions = {}): PlattCalibrator {
    const f = fitPlatt(z, labels, opts);
    return new PlattCalibrator(f.a, f.b);
  }

  protected map(x: number, input: ScoreSpace): number {
    const z = toLogit(x, input);
    // a = 0 would make 0·(±∞) = NaN at p ∈ {0, 1}; the model then ignores z entirely.
    return this.a === 0 ? sigmoid(this.b) : sigmoid(this.a * z + this.b);
  }

  toJSON(): { kind: 'platt'; a: number; b: number } {
    return { kind: 'platt', a: this.a, b: this.b };
  }
}
