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
 * tables are JavaScript Maps kept in recency order (a touched entry is deleted and re-inserted),
 * so every decision is a pure function of the order the ids arrive in: no ties, no hashing, no
 * clock, the same with any number of threads.
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
  lookups: z.number().int().min(0),
  oov: z.number().int().min(0),
});

/** A growing vocabulary's exact state (what a checkpoint holds to resume bit-identically). */
export type GrowingVocabState = z.output<typeof stateSchema>;

/** One field's growing vocabulary. */
export class GrowingVocab {
  /** token → local id, least recently seen first. */
  private admitted = new Map<string, number>();
  /** token → sightings, least recently seen first. */
  private pending = new Map<string, number>();
  /** Local ids (re)assigned since takeAdmitted(), with the admission serial of their latest id. */
  private fresh = new Map<number, number>();
  /** Ids admitted so far (the serial of the next admission). */
  admissions = 0;
  evictions = 0;
  /** Candidates dropped from a full candidate table before reaching minCount. */
  forgotten = 0;
  /** Values encoded, and those that went to the OOV row. */
  lookups = 0;
  oov = 0;

  constructor(readonly options: GrowingVocabOptions) {}

  get size(): number {
    return this.admitted.size;
  }

  get pendingSize(): number {
    return this.pending.size;
  }

  /** Records a sighting of `token` and returns its local id (0: the OOV row). */
  see(token: string): number {
    this.lookups++;
    const id = this.admitted.get(token);
    if (id !== undefined) {
      this.admitted.delete(token);
      this.admitted.set(token, id);
      return id;
    }
    const count = (this.pending.get(token) ?? 0) + 1;
    if (count >= this.options.minCount) {
      this.pending.delete(token);
      return this.admit(token);
    }
    if (count > 1) this.pending.delete(token);
    else if (this.pending.size >= this.options.candidates) {
      this.pending.delete(this.pending.keys().next().value!);
      this.forgotten++;
    }
    this.pending.set(token, count);
    this.oov++;
    return 0;
  }

  private admit(token: string): number {
    let id: number;
    // Local ids fill 1…capacity in order; an eviction frees one only to hand it over at once.
    if (this.admitted.size < this.options.capacity) {
      id = this.admitted.size + 1;
    } else {
      const [old, freed] = this.admitted.entries().next().value!;
      this.admitted.delete(old);
      this.evictions++;
      id = freed;
    }
    this.admitted.set(token, id);
    this.fresh.set(id, this.admissions++);
    return id;
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
    for (const [t, id] of this.admitted) out[id - 1] = t;
    return out;
  }

  toJSON(): GrowingVocabState {
    return {
      admitted: [...this.admitted], candidates: [...this.pending],
      admissions: this.admissions, evictions: this.evictions, forgotten: this.forgotten, lookups: this.lookups, oov: this.oov,
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
    this.admitted = new Map(s.admitted);
    this.pending = new Map(s.candidates);
    this.fresh.clear();
    ({ admissions: this.admissions, evictions: this.evictions, forgotten: this.forgotten, lookups: this.lookups, oov: this.oov } = s);
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
    const s = { admitted: 0, capacity: 0, candidates: 0, admissions: 0, evictions: 0, forgotten: 0, lookups: 0, oov: 0 };
    for (const v of this.vocabs.values()) {
      s.admitted += v.size;
      s.capacity += v.options.capacity;
      s.candidates += v.pendingSize;
      s.admissions += v.admissions;
      s.evictions += v.evictions;
      s.forgotten += v.forgotten;
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
