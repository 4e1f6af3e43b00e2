/**
 * Curriculum of losses (SPEC §1): train on BCE alone for `warmupSteps`, then ramp the weight of
 * the auxiliary (ranking / distillation) terms linearly from 0 to its target over `rampSteps`:
 *   r(t) = clamp((t − warmupSteps) / rampSteps, 0, 1)     (rampSteps = 0: a step at warmupSteps)
 *   w_aux(t) = r(t)·(1−α),   w_BCE(t) = 1 − w_aux(t).
 * The BCE weight takes up the slack so the warm-up is plain BCE at full strength (not α·BCE,
 * which would only shrink the learning rate) and the weights always sum to 1; at the end of
 * the ramp they are the target α, 1−α. Steps count from 0 (the first optimiser step).
 */
import { checkAlpha } from './common.js';

export interface CurriculumConfig {
  /** Steps of BCE only (default 0). */
  warmupSteps?: number;
  /** Steps over which the auxiliary weight rises from 0 to its target. */
  rampSteps: number;
}

function checkSteps(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`curriculum: ${name} must be an integer ≥ 0, got ${v}`);
}

/** r(t) ∈ [0, 1], the fraction of its target weight the auxiliary loss has at step t. */
export function curriculumFactor(step: number, cfg: CurriculumConfig): number {
  const warm = cfg.warmupSteps ?? 0;
  checkSteps('warmupSteps', warm);
  checkSteps('rampSteps', cfg.rampSteps);
  if (!(step >= 0)) throw new Error(`curriculum: step must be ≥ 0, got ${step}`);
  if (step < warm) return 0;
  if (cfg.rampSteps === 0) return 1;
  return Math.min(1, (step - warm) / cfg.rampSteps);
}

/** Weights of the main (BCE) and auxiliary terms at step t; no curriculum = the targets. */
export function curriculumWeights(step: number, alpha: number, cfg?: CurriculumConfig): { main: number; aux: number } {
  checkAlpha('curriculum', alpha);
  const aux = (1 - alpha) * (cfg ? curriculumFactor(step, cfg) : 1);
  return { main: 1 - aux, aux };
}
