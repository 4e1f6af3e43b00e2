/**
 * How often gradient surgery found a conflict this epoch (for the epoch log): the share of
 * (task i, task j, sub-vector) tests where the criterion fired — gᵢ·gⱼ < 0 for PCGrad,
 * cos(gᵢ, gⱼ) below its target for GradVac. Checkpointed, so a run resumed mid-epoch logs the
 * same rate. The trainer ends the epoch before it asks for the record, so `endEpoch` keeps the
 * finished epoch's rate for it.
 */
import type { MetricValue } from '../metricLog.js';

export class ConflictCounter {
  private tests = 0;
  private hits = 0;
  private finished: Record<string, MetricValue> | null = null;

  count(conflict: boolean): void {
    this.tests++;
    if (conflict) this.hits++;
  }

  endEpoch(): void {
    this.finished = this.current();
    this.tests = 0;
    this.hits = 0;
  }

  /** The last finished epoch's rate (the running one before any epoch ends). */
  record(): Record<string, MetricValue> {
    return this.finished ?? this.current();
  }

  private current(): Record<string, MetricValue> {
    return { conflict_rate: this.tests > 0 ? this.hits / this.tests : null };
  }

  save(): [number, number] {
    return [this.tests, this.hits];
  }

  load(state: unknown, what: string): void {
    const ok = Array.isArray(state) && state.length === 2 && state.every((v) => Number.isInteger(v) && v >= 0) && state[1] <= state[0];
    if (!ok) throw new Error(`${what}: conflict counts must be [tests, hits], got ${JSON.stringify(state)}`);
    [this.tests, this.hits] = state as [number, number];
  }
}
