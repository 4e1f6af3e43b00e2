/**
 * Scalar activation functions and their derivatives, shared by the fused linear layer and
 * the elementwise kernels. Fused activations differentiate from the OUTPUT y (the input z
 * is not kept by the fused layer); unary ops differentiate from the input x.
 */
import type { Activation, UnaryOp } from '../kernels.js';

export type Scalar = (v: number) => number;

/** σ(x) without overflow: exp is only ever taken of a non-positive number. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + eˣ) = max(x, 0) + log1p(e^−|x|): finite for any finite x. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function checkBeta(kernel: string, beta: number): void {
  if (!(beta >= 0) || !Number.isFinite(beta)) {
    throw new Error(`${kernel}: smelu beta must be finite and >= 0, got ${beta}`);
  }
}

/** SmeLU (SPEC §4): 0 below −β, (z+β)²/(4β) on [−β, β], z above β. β = 0 is ReLU. */
/** max(x, 0) that keeps NaN (as PyTorch does), so a NaN weight reaches the loss guard. */
const relu: Scalar = (x) => (x <= 0 ? 0 : x);

export function smeluFn(beta: number): Scalar {
  if (beta === 0) return relu;
  const inv4b = 1 / (4 * beta);
  return (z) => {
    if (z > beta) return z;
    if (z < -beta) return 0;
    const t = z + beta;
    return t * t * inv4b;
  };
}

export function activationFn(act: Activation, param: number, kernel: string): Scalar {
  switch (act) {
    case 'none': return (z) => z;
    case 'relu': return relu;
    case 'sigmoid': return sigmoid;
    case 'tanh': return Math.tanh;
    case 'smelu': checkBeta(kernel, param); return smeluFn(param);
    default: throw new Error(`${kernel}: unknown activation '${String(act)}'`);
  }
}

/** act'(z) expressed through y = act(z). */
export function activationDerivFn(act: Activation, param: number, kernel: string): Scalar {
  switch (act) {
    case 'none': return () => 1;
    case 'relu': return (y) => (y > 0 ? 1 : 0);
    case 'sigmoid': return (y) => y * (1 - y);
    case 'tanh': return (y) => 1 - y * y;
    case 'smelu': {
      checkBeta(kernel, param);
      const beta = param;
      if (beta === 0) return (y) => (y > 0 ? 1 : 0);
      // On the quadratic piece y = (z+β)²/(4β), so f'(z) = (z+β)/(2β) = √(y/β).
      return (y) => (y >= beta ? 1 : y > 0 ? Math.sqrt(y / beta) : 0);
    }
    default: throw new Error(`${kernel}: unknown activation '${String(act)}'`);
  }
}

export function unaryFn(op: UnaryOp, param: number, kernel: string): Scalar {
  switch (op) {
    case 'relu': return relu;
    case 'sigmoid': return sigmoid;
    case 'tanh': return Math.tanh;
    case 'softplus': return softplus;
    case 'smelu': checkBeta(kernel, param); return smeluFn(param);
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'neg': return (x) => -x;
    case 'abs': return Math.abs;
    case 'sqrt': return Math.sqrt;
    case 'square': return (x) => x * x;
    default: throw new Error(`${kernel}: unknown unary op '${String(op)}'`);
  }
}

/**
 * op'(x) from the input x (computed in float64 rather than from the float32-rounded y).
 * Conventions at kinks follow PyTorch: relu'(0) = 0, abs'(0) = sign(0) = 0.
 */
export function unaryDerivFn(op: UnaryOp, param: number, kernel: string): Scalar {
  switch (op) {
    case 'relu': return (x) => (x > 0 ? 1 : 0);
    case 'sigmoid': return (x) => { const s = sigmoid(x); return s * (1 - s); };
    case 'tanh': return (x) => { const t = Math.tanh(x); return 1 - t * t; };
    case 'softplus': return sigmoid;
    case 'smelu': {
      checkBeta(kernel, param);
      const beta = param;
      if (beta === 0) return (x) => (x > 0 ? 1 : 0);
      return (x) => (x > beta ? 1 : x < -beta ? 0 : (x + beta) / (2 * beta));
    }
    case 'exp': return Math.exp;
    case 'log': return (x) => 1 / x;
    case 'neg': return () => -1;
    case 'abs': return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'sqrt': return (x) => 0.5 / Math.sqrt(x);
    case 'square': return (x) => 2 * x;
    default: throw new Error(`${kernel}: unknown unary op '${String(op)}'`);
  }
}
