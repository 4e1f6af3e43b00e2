import { logBucket, logBucketValue } from './logBucket.js';

/** How raw values become tokens before the vocabulary: as they are, or log-bucketed integers. */
export type FieldTransform = 'identity' | 'log-bucket';

/** Declarative description of one input field. */
export interface FieldSpec {
  name: string;
  /** Default 'identity'. */
  transform?: FieldTransform;
  /** Tokens seen fewer times than this in the fit rows map to OOV (id 0). Default 2. */
  minCount?: number;
}

/** A raw value as readers produce it: text, or a parsed number (NaN = missing). */
export type RawValue = string | number;

/**
 * A categorical field with a min-count vocabulary and one OOV id (0). Used in two steps:
 *
 * 1. `intern(raw)` while streaming the data: returns a provisional code per distinct token, in order
 *    of first appearance. Storing codes (Int32) instead of strings keeps memory at 4 bytes per value,
 *    and lets the fit rows be chosen after the whole file has been seen (the split depends on n).
 * 2. `fit(counts)` with the number of times each code occurs in the fit rows: tokens with
 *    count >= minCount get ids 1, 2, ... in code order, which is their order of first appearance in
 *    the fit rows (the fit rows are a prefix, so first appearance overall = first appearance there).
 *
 * After fitting, `localId(code)` maps stored codes and `lookup(raw)` maps new data (OOV -> 0).
 */
export class CategoricalField {
  readonly name: string;
  readonly minCount: number;
  private readonly codeOf = new Map<string, number>();
  private readonly byCode: string[] = [];
  private remap: Int32Array | undefined;
  private kept: string[] | undefined;

  constructor(name: string, minCount = 2) {
    if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`field ${name}: minCount must be an integer >= 1, got ${minCount}`);
    this.name = name;
    this.minCount = minCount;
  }

  /** The token of a raw value. */
  token(raw: RawValue): string {
    return typeof raw === 'number' ? (Number.isNaN(raw) ? '' : String(raw)) : raw;
  }

  /** Provisional code of a raw value's token (assigned on first sight). Not allowed after fit(). */
  intern(raw: RawValue): number {
    const tok = this.token(raw);
    let code = this.codeOf.get(tok);
    if (code === undefined) {
      if (this.remap !== undefined) throw new Error(`field ${this.name}: intern() after fit()`);
      code = this.byCode.length;
      const own = detach(tok);
      this.byCode.push(own);
      this.codeOf.set(own, code);
    }
    return code;
  }

  /** Number of distinct tokens interned so far. */
  get numCodes(): number {
    return this.byCode.length;
  }

  /** Builds the vocabulary from per-code counts over the fit rows (length <= numCodes). */
  fit(counts: ArrayLike<number>): void {
    const remap = new Int32Array(this.byCode.length);
    const kept: string[] = [];
    for (let c = 0; c < counts.length; c++) {
      if (counts[c]! >= this.minCount) {
        kept.push(this.byCode[c]!);
        remap[c] = kept.length;
      }
    }
    this.remap = remap;
    this.kept = kept;
  }

  /** Counts the codes of column `col` over rows [0, rows) of a row-major [*, stride] code matrix, then fits. */
  fitColumn(codes: Int32Array, stride: number, col: number, rows: number): void {
    const counts = new Int32Array(this.byCode.length);
    for (let r = 0, p = col; r < rows; r++, p += stride) counts[codes[p]!]!++;
    this.fit(counts);
  }

  /** Local id (0 = OOV) of a provisional code. */
  localId(code: number): number {
    return this.fitted().remap[code]!;
  }

  /** Local id (0 = OOV) of a raw value, for data seen after fitting. */
  lookup(raw: RawValue): number {
    const code = this.codeOf.get(this.token(raw));
    return code === undefined ? 0 : this.localId(code);
  }

  /** Table rows of this field: kept tokens + 1 (the OOV row). */
  get size(): number {
    return this.fitted().kept.length + 1;
  }

  /** Kept tokens; token i has local id i + 1. */
  vocabulary(): readonly string[] {
    return this.fitted().kept;
  }

  private fitted(): { remap: Int32Array; kept: string[] } {
    if (this.remap === undefined || this.kept === undefined) throw new Error(`field ${this.name}: not fitted yet`);
    return { remap: this.remap, kept: this.kept };
  }
}

/** A numeric (count-like integer) field whose tokens are log buckets; see logBucket. */
export class LogBucketField extends CategoricalField {
  override token(raw: RawValue): string {
    return typeof raw === 'number' ? logBucketValue(raw) : logBucket(raw);
  }
}

export function makeField(spec: FieldSpec): CategoricalField {
  return (spec.transform ?? 'identity') === 'log-bucket'
    ? new LogBucketField(spec.name, spec.minCount)
    : new CategoricalField(spec.name, spec.minCount);
}

/**
 * A copy of `s` that does not share storage with the chunk it was sliced from. V8 keeps a slice's
 * parent alive, so a vocabulary of slices would pin every 1 MiB read chunk that introduced a token.
 * Slices shorter than 13 characters are already copies.
 */
function detach(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}
