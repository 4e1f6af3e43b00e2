/**
 * Adam on a handful of float64 scalars (the task weights of GradNorm, the log-variances of
 * uncertainty weighting). They are learned apart from the model, so that the model's optimiser,
 * its groups and its checkpoint stay as they are; Adam makes the step size independent of the
 * scale of the losses and gradient norms these scalars see.
 */
import { z } from 'zod';

const stateSchema = z.strictObject({ t: z.number().int().min(0), m: z.array(z.number()), v: z.array(z.number().min(0)) });

export class VectorAdam {
  private t = 0;
  private m: Float64Array;
  private v: Float64Array;

  constructor(readonly size: number, readonly lr: number, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8) {
    if (!(lr > 0 && Number.isFinite(lr))) throw new Error(`VectorAdam: lr must be a finite number > 0, got ${lr}`);
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** x ← x − lr · m̂ / (√v̂ + ε) for the gradient g (bias-corrected, as torch.optim.Adam). */
  step(x: Float64Array, g: ArrayLike<number>): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let i = 0; i < this.size; i++) {
      const gi = g[i]!;
      this.m[i] = this.beta1 * this.m[i]! + (1 - this.beta1) * gi;
      this.v[i] = this.beta2 * this.v[i]! + (1 - this.beta2) * gi * gi;
      x[i] = x[i]! - (this.lr * (this.m[i]! / c1)) / (Math.sqrt(this.v[i]! / c2) + this.eps);
    }
  }

  save(): z.infer<typeof stateSchema> {
    return { t: this.t, m: Array.from(this.m), v: Array.from(this.v) };
  }

  load(state: unknown, what: string): void {
    const r = stateSchema.safeParse(state);
    if (!r.success || r.data.m.length !== this.size || r.data.v.length !== this.size) {
      throw new Error(`${what}: optimiser state must be { t, m, v } with ${this.size} values each, got ${JSON.stringify(state)}`);
    }
    this.t = r.data.t;
    this.m = Float64Array.from(r.data.m);
    this.v = Float64Array.from(r.data.v);
  }
}
