/**
 * The controller of the efficiency search (SPEC §6): one categorical distribution per
 * architecture decision, softmax(θ_j), trained by REINFORCE,
 *   θ ← θ + α₀ (R − R̄) ∇_θ log P(d | θ),   ∂ log P(d) / ∂θ_{j,k} = 1[k = d_j] − p_{j,k},
 * with R̄ a moving average of the rewards (R̄ ← m·R̄ + (1 − m)·R after each update, starting at
 * the first reward). The caller computes R (accuracy and cost); this class only samples,
 * updates and remembers. `random` is the baseline with the same budget: uniform samples, θ never
 * moves, and the choice is the sampled architecture with the best mean advantage R − R̄. Rewards
 * drift upwards as the shared weights train, so a raw best reward would favour whatever was
 * sampled last; R̄ removes that drift as it does for REINFORCE.
 *
 * Sampling is counter-based (a generator seeded from the seed and a key such as the global step),
 * so nothing but θ, R̄ and the trajectory needs checkpointing for a resume to continue exactly.
 */
import { Rng } from '../util/random.js';
import type { AuxiliaryState } from './trainer.js';
import type { MetricValue } from './metricLog.js';

export interface Decision {
  name: string;
  candidates: readonly number[];
}

export interface ControllerOptions {
  decisions: readonly Decision[];
  method: 'reinforce' | 'random';
  /** α₀. */
  lr: number;
  /** m of the moving-average baseline R̄. */
  baselineMomentum: number;
  seed: number;
}

/** One controller step: the sampled choice (candidate index per decision) and what it earned. */
export interface ControllerStep {
  /** Training steps taken when it ran. */
  step: number;
  choice: number[];
  reward: number;
  /** The reward's parts, as the caller passed them (e.g. accuracy, cost). */
  parts: Record<string, number>;
  /** R̄ before this reward entered it (the advantage is reward − baseline). */
  baseline: number;
  /** The distribution after the update. */
  probabilities: number[][];
}

interface SavedController {
  logits: number[][];
  baseline: number | null;
  trajectory: ControllerStep[];
}

export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export class ArchController implements AuxiliaryState {
  logits: number[][];
  baseline: number | null = null;
  trajectory: ControllerStep[] = [];

  constructor(readonly opts: ControllerOptions) {
    if (opts.decisions.length === 0) throw new Error('ArchController: no decisions to search');
    for (const d of opts.decisions) if (d.candidates.length === 0) throw new Error(`ArchController: decision '${d.name}' has no candidates`);
    this.logits = opts.decisions.map((d) => d.candidates.map(() => 0));
  }

  probabilities(): number[][] {
    return this.logits.map(softmax);
  }

  /** A choice drawn from P(· | θ) (uniform for random search), the same for the same key and θ. */
  sample(key: number): number[] {
    const rng = new Rng((Math.imul(this.opts.seed, 0x85ebca6b) ^ Math.imul(key + 1, 0x9e3779b1)) >>> 0);
    const probs = this.probabilities();
    return this.opts.decisions.map((d, j) => {
      const u = rng.uniform();
      if (this.opts.method === 'random') return Math.min(d.candidates.length - 1, Math.floor(u * d.candidates.length));
      const p = probs[j]!;
      let acc = 0;
      for (let k = 0; k < p.length; k++) {
        acc += p[k]!;
        if (u < acc) return k;
      }
      return p.length - 1;
    });
  }

  /** Records a reward for a sampled choice and, under REINFORCE, moves θ. */
  update(step: number, choice: readonly number[], reward: number, parts: Record<string, number> = {}): ControllerStep {
    if (!Number.isFinite(reward)) throw new Error(`ArchController: reward ${reward} at step ${step} is not finite`);
    const baseline = this.baseline ?? reward;
    if (this.opts.method === 'reinforce') {
      const a = this.opts.lr * (reward - baseline);
      const probs = this.probabilities();
      this.logits = this.logits.map((row, j) => row.map((v, k) => v + a * ((k === choice[j] ? 1 : 0) - probs[j]![k]!)));
    }
    const m = this.opts.baselineMomentum;
    this.baseline = m * baseline + (1 - m) * reward;
    const rec: ControllerStep = { step, choice: [...choice], reward, parts: { ...parts }, baseline, probabilities: this.probabilities() };
    this.trajectory.push(rec);
    return rec;
  }

  /**
   * The search's answer: the most probable candidate of every decision (REINFORCE), or the
   * sampled choice with the best mean advantage R − R̄ (random; ties: the first sampled). Before
   * any reward, random search has nothing to choose from and answers the first candidates.
   */
  best(): number[] {
    if (this.opts.method === 'reinforce') return this.logits.map((row) => row.indexOf(Math.max(...row)));
    const stats = new Map<string, { choice: number[]; sum: number; n: number }>();
    for (const t of this.trajectory) {
      const key = t.choice.join(',');
      const s = stats.get(key) ?? { choice: t.choice, sum: 0, n: 0 };
      s.sum += t.reward - t.baseline;
      s.n++;
      stats.set(key, s);
    }
    let best: { choice: number[]; mean: number } | null = null;
    for (const s of stats.values()) if (best === null || s.sum / s.n > best.mean) best = { choice: s.choice, mean: s.sum / s.n };
    return best?.choice ?? this.opts.decisions.map(() => 0);
  }

  save(): SavedController {
    return { logits: this.logits.map((r) => [...r]), baseline: this.baseline, trajectory: this.trajectory };
  }

  load(state: unknown): void {
    const s = state as SavedController;
    const shape = (l: number[][]): string => l.map((r) => r.length).join(',');
    if (!Array.isArray(s?.logits) || shape(s.logits) !== shape(this.logits)) {
      throw new Error('ArchController: the checkpoint\'s controller has other decisions than the config\'s search space');
    }
    this.logits = s.logits.map((r) => [...r]);
    this.baseline = s.baseline;
    this.trajectory = s.trajectory.map((t) => ({ ...t }));
  }

  /** P(candidate) of every decision, and the mean reward of the epoch's controller steps. */
  epochRecord(): Record<string, MetricValue> {
    const out: Record<string, MetricValue> = {};
    const probs = this.probabilities();
    this.opts.decisions.forEach((d, j) => d.candidates.forEach((c, k) => { out[`search_p_${d.name}_${c}`] = probs[j]![k]!; }));
    out.search_baseline = this.baseline;
    return out;
  }
}
