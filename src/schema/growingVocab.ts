/**
 * Vocabularies that grow on a stream (`train.online.vocab`): an id earns a row of its field's
 * table once it has been seen `minCount` times; the table holds at most `capacity` ids and, when
 * full, the least recently seen id gives its row to the newcomer. Ids without a row (not yet
 * admitted, or evicted) share the field's OOV row, local id 0.
 *
 * Counting the ids not yet admitted is bounded too: they wait in a candidate table of at most
 * `candidates` ids, least recently seen forgotten first (its count is lost). Unlike a count-min
 * sketch, this never admits a rare id because it collides with a frequent one; the price is that
 * an id recurring more sparsely than every `candidates` new ids never reaches its count. Both
 * tables keep their ids in recency order (a linked list), so every decision is a pure function of
 * the order the ids arrive in: no ties, no hashing, no clock, the same with any number of threads.
 */
import { z } from 'zod';
import type { RawValue } from '../data/prep/field.js';
import { ConfigError } from './errors.js';
import { FittedSchema } from './fitted.js';
import type { RowCoder } from './ingest.js';
import type { IdFieldSpec } from './spec.js';

export interface GrowingVocabOptions {
  /** Sightings (this one included) an id needs before it gets a row. */
  minCount: number;
  /** Rows of the field (besides the OOV row). */
  capacity: number;
  /** Ids counted while not yet admitted (bounded memory). */
  candidates: number;
}

const stateSchema = z.strictObject({
  /** Admitted ids, least recently seen first, with their local ids (1…capacity). */
  admitted: z.array(z.tuple([z.string(), z.number().int().min(1)])),
  /** Candidates, least recently seen first, with their counts so far. */
  candidates: z.array(z.tuple([z.string(), z.number().int().min(1)])),
  admissions: z.number().int().min(0),
  evictions: z.number().int().min(0),
  forgotten: z.number().int().min(0),
  deferred: z.number().int().min(0),
  lookups: z.number().int().min(0),
  oov: z.number().int().min(0),
});

/** A growing vocabulary's exact state (what a checkpoint holds to resume bit-identically). */
export type GrowingVocabState = z.output<typeof stateSchema>;

/**
 * A bounded table of string keys in recency order: slots linked oldest → newest through typed
 * arrays, so a sighting moves a key to the newest end without touching the Map (deleting and
 * re-inserting Map keys to keep order leaves holes V8 scans on every eviction: microseconds per row).
 */
class LruTable {
  private readonly index = new Map<string, number>();
  private keys: string[] = [];
  /** Per slot: the key's count (candidates), or the batch it was last seen in (admitted ids: the slot is the id). */
  values: Int32Array = new Int32Array(0);
  private prev: Int32Array = new Int32Array(0);
  private next: Int32Array = new Int32Array(0);
  /** Least and most recently seen slots (-1: empty). */
  private head = -1;
  private tail = -1;
  /** Slots freed by remove(), reused first; slots 0…used−1 have been handed out. */
  private readonly free: number[] = [];
  private used = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.index.size;
  }

  /** The key's slot, or -1. */
  find(key: string): number {
    return this.index.get(key) ?? -1;
  }

  /** Marks the slot's key as the most recently seen. */
  touch(slot: number): void {
    if (slot === this.tail) return;
    this.unlink(slot);
    this.append(slot);
  }

  /**
   * Adds `key` (absent) as the most recently seen, in `slot` when given (restoring a state), else in
   * a free slot; when full, the least recently seen key is evicted first and its slot reused.
   * Returns the slot and the evicted key.
   */
  insert(key: string, value: number, slot?: number): { slot: number; evicted?: string } {
    let evicted: string | undefined;
    let at: number;
    if (slot !== undefined) {
      at = slot;
      this.used = Math.max(this.used, slot + 1);
    } else if (this.index.size >= this.capacity) {
      at = this.head;
      evicted = this.keys[at]!;
      this.unlink(at);
      this.index.delete(evicted);
    } else {
      at = this.free.pop() ?? this.used++;
    }
    this.reserve(at + 1);
    this.keys[at] = key;
    this.values[at] = value;
    this.index.set(key, at);
    this.append(at);
    return evicted === undefined ? { slot: at } : { slot: at, evicted };
  }

  /** Drops the slot's key; the slot is reused by a later insert. */
  remove(slot: number): void {
    this.unlink(slot);
    this.index.delete(this.keys[slot]!);
    this.free.push(slot);
  }

  /** The least recently seen slot (-1: empty). */
  oldest(): number {
    return this.head;
  }

  /** [key, slot], least recently seen first. */
  *entries(): Generator<[string, number]> {
    for (let s = this.head; s >= 0; s = this.next[s]!) yield [this.keys[s]!, s];
  }

  private reserve(n: number): void {
    if (n <= this.prev.length) return;
    const size = Math.min(this.capacity, Math.max(n, 2 * this.prev.length, 16));
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.values = grow(this.values);
    this.prev = grow(this.prev);
    this.next = grow(this.next);
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
  }

  private append(s: number): void {
    this.prev[s] = this.tail;
    this.next[s] = -1;
    if (this.tail >= 0) this.next[this.tail] = s;
    else this.head = s;
    this.tail = s;
  }
}

/** One field's growing vocabulary. */
export class GrowingVocab {
  /** Admitted ids: slot s holds local id s + 1 (ids fill 1…capacity in order; an eviction hands its id over at once). */
  private admitted: LruTable;
  /** Ids not yet admitted, with their sightings. */
  private pending: LruTable;
  /** Local ids (re)assigned since takeAdmitted(), with the admission serial of their latest id. */
  private readonly fresh = new Map<number, number>();
  /** Ids admitted so far (the serial of the next admission). */
  admissions = 0;
  evictions = 0;
  /** Candidates dropped from a full candidate table before reaching minCount. */
  forgotten = 0;
  /** Admissions put off because every admitted id was seen in the current batch. */
  deferred = 0;
  /** Number of the current batch (admitted ids record the one they were last seen in). */
  private batch = 0;
  /** Values encoded, and those that went to the OOV row. */
  lookups = 0;
  oov = 0;

  constructor(readonly options: GrowingVocabOptions) {
    this.admitted = new LruTable(options.capacity);
    this.pending = new LruTable(options.candidates);
  }

  get size(): number {
    return this.admitted.size;
  }

  get pendingSize(): number {
    return this.pending.size;
  }

  /** The rows seen from now on are a new batch. */
  newBatch(): void {
    this.batch++;
  }

  /** Records a sighting of `token` and returns its local id (0: the OOV row). */
  see(token: string): number {
    this.lookups++;
    const slot = this.admitted.find(token);
    if (slot >= 0) {
      this.admitted.touch(slot);
      this.admitted.values[slot] = this.batch;
      return slot + 1;
    }
    const p = this.pending.find(token);
    const count = (p >= 0 ? this.pending.values[p]! : 0) + 1;
    // Evicting an id seen earlier in this batch would give two ids of one batch the same row: the
    // newcomer waits (a candidate with its count) for a later batch. Only when capacity < the ids of a batch.
    const full = this.admitted.size >= this.options.capacity;
    const wait = count >= this.options.minCount && full && this.admitted.values[this.admitted.oldest()] === this.batch;
    if (wait) this.deferred++;
    if (count >= this.options.minCount && !wait) {
      if (p >= 0) this.pending.remove(p);
      const { slot: s, evicted } = this.admitted.insert(token, this.batch);
      if (evicted !== undefined) this.evictions++;
      this.fresh.set(s + 1, this.admissions++);
      return s + 1;
    }
    if (p >= 0) {
      this.pending.values[p] = count;
      this.pending.touch(p);
    } else if (this.pending.insert(token, count).evicted !== undefined) {
      this.forgotten++;
    }
    this.oov++;
    return 0;
  }

  /** The local ids given to a new id since the last call, ascending, with each one's admission serial. */
  takeAdmitted(): { ids: number[]; serials: number[] } {
    const ids = [...this.fresh.keys()].sort((a, b) => a - b);
    const serials = ids.map((i) => this.fresh.get(i)!);
    this.fresh.clear();
    return { ids, serials };
  }

  /** The admitted tokens by local id (token i has local id i + 1): the model file's vocabulary. */
  vocabulary(): string[] {
    const out = new Array<string>(this.admitted.size);
    for (const [t, s] of this.admitted.entries()) out[s] = t;
    return out;
  }

  toJSON(): GrowingVocabState {
    return {
      admitted: Array.from(this.admitted.entries(), ([t, s]): [string, number] => [t, s + 1]),
      candidates: Array.from(this.pending.entries(), ([t, s]): [string, number] => [t, this.pending.values[s]!]),
      admissions: this.admissions, evictions: this.evictions, forgotten: this.forgotten, deferred: this.deferred, lookups: this.lookups, oov: this.oov,
    };
  }

  /** Restores toJSON()'s state; throws (naming `where`) when it does not fit these options. */
  load(obj: unknown, where: string): void {
    const r = stateSchema.safeParse(obj);
    const bad = (msg: string): ConfigError => new ConfigError([`${where}: ${msg}`]);
    if (!r.success) throw bad(`not a growing vocabulary's state (${r.error.issues[0]?.message ?? 'invalid'})`);
    const s = r.data;
    const { capacity, candidates } = this.options;
    if (s.admitted.length > capacity || s.candidates.length > candidates) {
      throw bad(`${s.admitted.length} admitted ids and ${s.candidates.length} candidates do not fit capacity ${capacity} and candidates ${candidates}`);
    }
    const ids = new Set(s.admitted.map(([, id]) => id));
    if (ids.size !== s.admitted.length || s.admitted.some(([, id]) => id > s.admitted.length)) {
      throw bad('the admitted ids do not hold local ids 1…n once each');
    }
    if (new Set(s.admitted.map(([t]) => t)).size !== s.admitted.length || new Set(s.candidates.map(([t]) => t)).size !== s.candidates.length) {
      throw bad('a token is listed twice');
    }
    this.admitted = new LruTable(capacity);
    // A checkpoint is taken between batches: no admitted id has been seen in the batch to come.
    this.batch = 0;
    for (const [t, id] of s.admitted) this.admitted.insert(t, -1, id - 1);
    this.pending = new LruTable(candidates);
    for (const [t, count] of s.candidates) this.pending.insert(t, count);
    this.fresh.clear();
    ({ admissions: this.admissions, evictions: this.evictions, forgotten: this.forgotten, deferred: this.deferred, lookups: this.lookups, oov: this.oov } = s);
  }
}

type VocabField = Extract<IdFieldSpec, { kind: 'vocab' }>;

/** Table occupancy and traffic of the growing vocabularies, summed over their fields. */
export interface GrowingVocabStats {
  /** Rows held by admitted ids / rows available (capacity summed over fields). */
  occupancy: number;
  admitted: number;
  capacity: number;
  candidates: number;
  admissions: number;
  evictions: number;
  forgotten: number;
  deferred: number;
  /** Share of the values encoded so far that went to an OOV row. */
  oovShare: number | null;
}

/**
 * The growing vocabularies of a stream's fitted schema (its vocabulary fields with a capacity): the
 * encoder that admits ids as rows arrive, the rows to reset, their state, and the fitted schema of
 * the vocabularies as they stand (for the model file).
 */
export class GrowingVocabularies {
  private readonly vocabs = new Map<number, GrowingVocab>();

  constructor(readonly fitted: FittedSchema, candidates: number) {
    fitted.spec.fields.forEach((f, j) => {
      if (f.kind === 'vocab' && f.capacity !== undefined) this.vocabs.set(j, new GrowingVocab({ minCount: f.minCount, capacity: f.capacity, candidates }));
    });
  }

  get size(): number {
    return this.vocabs.size;
  }

  /** `base` with the growing fields' ids admitted and looked up here (rows must be coded in stream order). */
  coder(base: RowCoder): RowCoder {
    const { fitted, vocabs } = this;
    return {
      field: (j, row) => {
        const v = vocabs.get(j);
        return v === undefined ? base.field(j, row) : fitted.fieldOffsets[j]! + v.see(fitted.vocabToken(j, row.fieldRaw[j] as RawValue));
      },
      token: base.token,
    };
  }

  /** The rows coded from now on are a new batch (a table full of ids of the current batch defers admissions). */
  newBatch(): void {
    for (const v of this.vocabs.values()) v.newBatch();
  }

  /** Global rows given to a new id since the last call, ascending, each with a seed for its fresh initial values. */
  takeAdmitted(seed: number): { rows: Int32Array; seeds: Uint32Array } {
    const rows: number[] = [];
    const seeds: number[] = [];
    for (const [j, v] of this.vocabs) {
      const { ids, serials } = v.takeAdmitted();
      ids.forEach((id, k) => {
        const row = this.fitted.fieldOffsets[j]! + id;
        rows.push(row);
        seeds.push(mix(mix(seed, row), serials[k]!));
      });
    }
    return { rows: Int32Array.from(rows), seeds: Uint32Array.from(seeds) };
  }

  /** The fitted schema with each growing field's vocabulary as it stands: what predict and serve encode with. */
  snapshot(): FittedSchema {
    const { spec } = this.fitted;
    return new FittedSchema({
      ...spec,
      fields: spec.fields.map((f, j): IdFieldSpec => {
        const v = this.vocabs.get(j);
        return v === undefined ? f : { ...(f as VocabField), vocabulary: v.vocabulary() };
      }),
    });
  }

  stats(): GrowingVocabStats {
    const s = { admitted: 0, capacity: 0, candidates: 0, admissions: 0, evictions: 0, forgotten: 0, deferred: 0, lookups: 0, oov: 0 };
    for (const v of this.vocabs.values()) {
      s.admitted += v.size;
      s.capacity += v.options.capacity;
      s.candidates += v.pendingSize;
      s.admissions += v.admissions;
      s.evictions += v.evictions;
      s.forgotten += v.forgotten;
      s.deferred += v.deferred;
      s.lookups += v.lookups;
      s.oov += v.oov;
    }
    const { lookups, oov, ...rest } = s;
    return { ...rest, occupancy: s.capacity > 0 ? s.admitted / s.capacity : 0, oovShare: lookups > 0 ? oov / lookups : null };
  }

  /** State by field name (JSON). */
  toJSON(): Record<string, GrowingVocabState> {
    const out: Record<string, GrowingVocabState> = {};
    for (const [j, v] of this.vocabs) out[this.fitted.spec.fields[j]!.name] = v.toJSON();
    return out;
  }

  /** Restores toJSON()'s state; every growing field must be there (`where` names the checkpoint in errors). */
  load(obj: unknown, where: string): void {
    const state = (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>;
    for (const [j, v] of this.vocabs) {
      const name = this.fitted.spec.fields[j]!.name;
      if (!(name in state)) throw new ConfigError([`${where}: no growing vocabulary of field ${name} (the checkpoint was written without train.online.vocab on it)`]);
      v.load(state[name], `${where}: vocabulary of field ${name}`);
    }
  }
}

/** A 32-bit mix of two words (murmur3's finaliser steps): distinct seeds for distinct (seed, row, serial). */
function mix(h: number, k: number): number {
  let x = Math.imul((h ^ Math.imul(k, 0xcc9e2d51)) >>> 0, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
