import type { RawValue } from '../prep/field.js';
import { Rng } from '../../util/random.js';
import type { ItemPool } from './itemPool.js';

/*
 * Behaviour-sequence examples from a time-ordered event log (DIN's training data): each example
 * event becomes a row with the event's item as the target, the user's earlier events as the
 * history and a 0/1 label, plus sampled negatives that share the positive's history.
 *
 * The one rule that matters is that an example sees only events strictly before it: events of
 * the same user with the same time do not see each other (they are committed to the history only
 * once time moves past them), and a sampled negative is an item someone had interacted with before
 * that time. The events of one user must arrive together, in ascending time (the caller checks).
 */

export interface LogEvent {
  user: string;
  item: string;
  time: number;
  /** Whether the event is a positive interaction (the configured rule). */
  positive: boolean;
  /** The log columns the rows need, in the caller's order (history sources, item attributes, pass-through). */
  values: RawValue[];
  /** 1-based line in the log: every row built from the event reports it. */
  line: number;
}

/** Split of the examples by time: the last `test` example events of each user, or a global time cut. */
export type EventSplit =
  | { mode: 'last'; validation: number; test: number }
  | { mode: 'time'; validation: number; test: number };

export interface SequenceOptions {
  /** `positive`: only positive events are examples (label 1); `all`: every event, labelled by the rule. */
  examples: 'positive' | 'all';
  /** Which events enter the history: `all`, or only the positive ones. */
  history: 'positive' | 'all';
  /** The most recent events kept in a history. */
  maxHistory: number;
  /** Events with a shorter history still enter the history, but are not examples. */
  minHistory: number;
  /** Positions in `LogEvent.values` of the history's columns (one sequence per entry). */
  historyValues: readonly number[];
  /** Positions in `LogEvent.values` of the item attributes (a negative takes its item's). */
  itemValues: readonly number[];
  /** `perPositive` items drawn from `pool` for each positive example (seeded, in example order). */
  negatives?: { perPositive: number; seed: number; pool: ItemPool };
  split?: EventSplit;
  /** Example events per user (from a first pass), needed by split mode last. */
  exampleCounts?: ReadonlyMap<string, number>;
}

export interface EventExample {
  /** The event the row comes from (its user, time and pass-through values). */
  event: LogEvent;
  /** The target item: the event's own, or the sampled negative. */
  item: string;
  /** The target's item attributes, in `itemValues` order. */
  itemValues: readonly RawValue[];
  label: 0 | 1;
  /** Per history column, the values of the earlier events, oldest first (shared by the event's rows). */
  history: readonly string[][];
  /** 0 fit, 1 validation, 2 test (0 without a split). */
  part: 0 | 1 | 2;
}

function text(v: RawValue): string {
  return typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : v;
}

/** One user's events so far: the committed history and the events at the current time. */
class UserState {
  /** Per history column, committed values (trimmed lazily to the last maxHistory). */
  readonly history: string[][];
  private pending: LogEvent[] = [];
  private pendingTime = Number.NEGATIVE_INFINITY;
  /** Example events seen so far (the index of the next one). */
  examples = 0;

  constructor(private readonly opts: SequenceOptions) {
    this.history = opts.historyValues.map(() => []);
  }

  /** Events in the history so far (before the cap). */
  committed = 0;

  /** Moves to `time`: the events of earlier times become history. */
  advance(time: number): void {
    if (time === this.pendingTime) return;
    const max = this.opts.maxHistory;
    for (const e of this.pending) {
      if (this.opts.history === 'positive' && !e.positive) continue;
      this.committed++;
      this.opts.historyValues.forEach((v, h) => {
        const seq = this.history[h]!;
        seq.push(text(e.values[v]!));
        // Trimmed in bulk so that a long history costs O(1) per event.
        if (seq.length >= 2 * max) seq.splice(0, seq.length - max);
      });
    }
    this.pending = [];
    this.pendingTime = time;
  }

  add(e: LogEvent): void {
    this.pending.push(e);
  }

  /** The last maxHistory committed values per history column (fresh arrays). */
  snapshot(): string[][] {
    const max = this.opts.maxHistory;
    return this.history.map((seq) => seq.slice(Math.max(0, seq.length - max)));
  }
}

/** Whether an event is an example at all (before the minHistory check). */
function isExampleEvent(opts: SequenceOptions, e: LogEvent): boolean {
  return opts.examples === 'all' || e.positive;
}

function partOf(opts: SequenceOptions, e: LogEvent, index: number): 0 | 1 | 2 {
  const s = opts.split;
  if (s === undefined) return 0;
  if (s.mode === 'time') return e.time >= s.test ? 2 : e.time >= s.validation ? 1 : 0;
  const n = opts.exampleCounts?.get(e.user) ?? 0;
  return index >= n - s.test ? 2 : index >= n - s.test - s.validation ? 1 : 0;
}

/**
 * The examples of a log whose events come grouped by user, in ascending time within a user.
 * Rows of one event are yielded together: the positive (or the labelled event), then its negatives.
 */
export async function* sequenceExamples(events: AsyncIterable<LogEvent>, opts: SequenceOptions): AsyncGenerator<EventExample> {
  const neg = opts.negatives;
  const rng = neg === undefined ? undefined : new Rng(neg.seed);
  let user: string | undefined;
  let state = new UserState(opts);
  for await (const e of events) {
    if (e.user !== user) {
      user = e.user;
      state = new UserState(opts);
    }
    state.advance(e.time);
    state.add(e);
    if (!isExampleEvent(opts, e) || state.committed < opts.minHistory) continue;
    const part = partOf(opts, e, state.examples++);
    const history = state.snapshot();
    const own = opts.itemValues.map((v) => e.values[v]!);
    yield { event: e, item: e.item, itemValues: own, label: e.positive ? 1 : 0, history, part };
    if (neg === undefined || !e.positive) continue;
    for (const k of neg.pool.sample(e.time, neg.perPositive, e.item, rng!)) {
      yield { event: e, item: neg.pool.item(k), itemValues: neg.pool.itemValues(k), label: 0, history, part };
    }
  }
}

/**
 * Example events per user, counted exactly as `sequenceExamples` would take them (the first
 * pass of split mode last, which must know a user's last events before it reaches them).
 */
export async function countExampleEvents(events: AsyncIterable<LogEvent>, opts: SequenceOptions): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const ex of sequenceExamples(events, { ...opts, negatives: undefined, split: undefined, exampleCounts: undefined })) {
    counts.set(ex.event.user, (counts.get(ex.event.user) ?? 0) + 1);
  }
  return counts;
}
