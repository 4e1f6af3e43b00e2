import type { RawValue } from '../prep/field.js';
import type { Rng } from '../../util/random.js';

/*
 * The items a sampled negative can be: every item of the log, ordered by the first time anyone
 * interacted with it. "Items that existed before time t" is then a prefix of that order, so a
 * negative for an event at time t never names an item the log had not shown by then (sampling
 * from the whole catalogue would leak the future: an item that appears later is a negative that
 * could not have been shown).
 */

export class ItemPool {
  private readonly first = new Map<string, { time: number; order: number; values: RawValue[] }>();
  private items: string[] = [];
  private times = new Float64Array(0);
  private values: RawValue[][] = [];
  private position = new Map<string, number>();

  /** Records one event of `item` at `time`; `values` are its item attributes (the first event's are kept). */
  add(item: string, time: number, values: readonly RawValue[]): void {
    const seen = this.first.get(item);
    if (seen === undefined) this.first.set(item, { time, order: this.first.size, values: [...values] });
    else if (time < seen.time) seen.time = time;
  }

  /** Freezes the order (first time, then first appearance in the log); call once, after every add. */
  finish(): void {
    const all = [...this.first.entries()].sort((a, b) => a[1].time - b[1].time || a[1].order - b[1].order);
    this.items = all.map(([item]) => item);
    this.times = Float64Array.from(all, ([, e]) => e.time);
    this.values = all.map(([, e]) => e.values);
    this.position = new Map(this.items.map((item, k) => [item, k]));
    this.first.clear();
  }

  get size(): number {
    return this.items.length;
  }

  /** How many items were first seen strictly before `time`. */
  countBefore(time: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! < time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  item(k: number): string {
    return this.items[k]!;
  }

  /** The item attributes of the k-th item (as of its first event). */
  itemValues(k: number): readonly RawValue[] {
    return this.values[k]!;
  }

  /**
   * Up to `n` distinct pool positions among the items first seen before `time`, none of them
   * `exclude`: uniform draws from `rng`, rejecting `exclude` and repeats. When the prefix holds no
   * more than `n` candidates, all of them in pool order (no draw), so the loop always ends.
   */
  sample(time: number, n: number, exclude: string, rng: Rng): number[] {
    const p = this.countBefore(time);
    const at = this.position.get(exclude);
    const available = p - (at !== undefined && at < p ? 1 : 0);
    if (available <= n) return Array.from({ length: p }, (_, k) => k).filter((k) => k !== at);
    const out: number[] = [];
    while (out.length < n) {
      const k = rng.int(p);
      if (k !== at && !out.includes(k)) out.push(k);
    }
    return out;
  }
}
