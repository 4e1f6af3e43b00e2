/**
 * A `{"rows": [{field: value, …}, …], "context": {…}?}` body read straight from its text into one
 * column per field: no JSON.parse, no object per row, and the vocabulary fields' ids looked up as
 * their text is read (IdCoder). Parsing the rows' objects and probing the vocabularies with a
 * string per value were most of the event loop's work per 100-row request (docs/benchmarks.md,
 * "The request stage").
 *
 * It reads only the plain shape a client sends — strings without escapes, JSON numbers, null —
 * and gives up (undefined) on anything else: other keys, escapes, arrays, booleans, a duplicate
 * key, a row with other fields than the first row's, more than `maxRows` rows, text that is not
 * JSON. The caller then reads the body with JSON.parse, whose checks name the problem; so this
 * reader never decides an error, and what it accepts it reads as JSON.parse + rowsAsColumns
 * (request.ts) would: the same strings, the same numbers (Number of a JSON number's text is
 * JSON.parse's double), null as '' (an empty cell).
 */
import type { RawValue } from '../data/prep/field.js';
import { FNV_OFFSET, FNV_PRIME } from '../schema/hash.js';
import type { VocabTable } from './vocabTable.js';

/**
 * How an id field's values are coded as they are read, to the global ids the encoder gives
 * (parseIdValue, then FittedSchema.fieldId): a vocabulary's strings through `table`, a log-bucket
 * vocabulary's integer text (digits only) through `byInteger`, every other value through `ofRaw`.
 */
export interface IdCoder {
  table?: VocabTable;
  /** The field's first global id (`table` answers local ids). */
  offset: number;
  /**
   * Global ids of digit strings by their value (-1: not seen yet), for a field whose id of such a
   * string depends on its value only (a log-bucket vocabulary: "007" and "7" bucket alike).
   */
  byInteger?: Int32Array;
  /** The global id of any value; undefined when the encoder refuses it (the JSON reader then names why). */
  ofRaw(raw: RawValue): number | undefined;
}

export interface ScannedRows {
  numRows: number;
  /**
   * Per feature (index in the model's feature list): its values, one per row (coded: the global
   * ids, for a feature with a coder), or undefined where the rows do not give it.
   */
  columns: (RawValue[] | Int32Array | undefined)[];
  /** The body's `context` object, its values read as the rows' are. */
  context?: Record<string, RawValue>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;

/** Thrown inside the scan to give up; never escapes it. */
const GIVE_UP = Symbol('give up');

function known(id: number | undefined): number {
  if (id === undefined) throw GIVE_UP;
  return id;
}

class Scan {
  pos = 0;

  constructor(readonly text: string) {}

  /** Skips JSON whitespace; the code of the next character (NaN at the end). */
  peek(): number {
    const t = this.text;
    let p = this.pos;
    let c = t.charCodeAt(p);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = t.charCodeAt(++p);
    this.pos = p;
    return c;
  }

  expect(code: number): void {
    if (this.peek() !== code) throw GIVE_UP;
    this.pos++;
  }

  /** A string's text, the position just past its opening quote; gives up on an escape or a raw control character. */
  stringBody(): string {
    const t = this.text;
    const start = this.pos;
    let p = start;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === QUOTE) break;
      if (c === BACKSLASH || c < 0x20 || Number.isNaN(c)) throw GIVE_UP;
      p++;
    }
    this.pos = p + 1;
    return t.slice(start, p);
  }

  /** A JSON number's value (strict grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?); gives up on a non-finite one, as rawValue rejects it. */
  number(): number {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === MINUS) p++;
    const digits = (): void => {
      const from = p;
      for (let c = t.charCodeAt(p); c >= ZERO && c <= NINE; c = t.charCodeAt(++p));
      if (p === from) throw GIVE_UP;
    };
    if (t.charCodeAt(p) === ZERO) p++;
    else digits();
    if (t.charCodeAt(p) === DOT) {
      p++;
      digits();
    }
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      p++;
      const s = t.charCodeAt(p);
      if (s === 0x2b || s === MINUS) p++;
      digits();
    }
    this.pos = p;
    const v = Number(t.slice(start, p));
    if (!Number.isFinite(v)) throw GIVE_UP;
    return v;
  }

  /** A value a row may hold here: a string, a number, or null (''). */
  value(): RawValue {
    const c = this.peek();
    if (c === QUOTE) {
      this.pos++;
      return this.stringBody();
    }
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
    if (c === 0x6e && this.text.startsWith('null', this.pos)) {
      this.pos += 4;
      return '';
    }
    throw GIVE_UP;
  }

  /** The global id of an id field's value: a string's looked up as it is read, no string made where the coder allows. */
  coded(c: IdCoder): number {
    const t = this.text;
    if (this.peek() !== QUOTE) return known(c.ofRaw(this.value()));
    const start = ++this.pos;
    let p = start;
    if (c.table !== undefined) {
      let h = FNV_OFFSET | 0;
      for (;;) {
        const x = t.charCodeAt(p);
        if (x === QUOTE) break;
        if (x === BACKSLASH || x < 0x20 || Number.isNaN(x)) throw GIVE_UP;
        h = Math.imul(h ^ x, FNV_PRIME);
        p++;
      }
      this.pos = p + 1;
      return c.offset + c.table.find(t, start, p, h);
    }
    // Digits only, up to 15 (exact as a double): the value, else -1.
    let v = 0;
    for (;;) {
      const x = t.charCodeAt(p);
      if (x === QUOTE) break;
      if (x === BACKSLASH || x < 0x20 || Number.isNaN(x)) throw GIVE_UP;
      v = v >= 0 && x >= ZERO && x <= NINE && p - start < 15 ? v * 10 + (x - ZERO) : -1;
      p++;
    }
    this.pos = p + 1;
    const memo = c.byInteger;
    if (memo === undefined || p === start || v < 0 || v >= memo.length) return known(c.ofRaw(t.slice(start, p)));
    let id = memo[v]!;
    if (id < 0) memo[v] = id = known(c.ofRaw(t.slice(start, p)));
    return id;
  }

  /** After a member or element: true for a comma, false for the closing `close`. */
  more(close: number): boolean {
    const c = this.peek();
    this.pos++;
    if (c === COMMA) return true;
    if (c === close) return false;
    throw GIVE_UP;
  }
}

/**
 * The rows of a predict body's text as columns, or undefined when the body is not of the plain
 * shape this reads (module comment). `index`: each feature's index by name.
 */
export function scanRows(text: string, index: ReadonlyMap<string, number>, numFeatures: number, maxRows: number,
  coders: readonly (IdCoder | undefined)[] = []): ScannedRows | undefined {
  try {
    return scan(new Scan(text), index, numFeatures, maxRows, coders);
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

function scan(s: Scan, index: ReadonlyMap<string, number>, numFeatures: number, maxRows: number, coders: readonly (IdCoder | undefined)[]): ScannedRows {
  let rows: ScannedRows | undefined;
  let context: Record<string, RawValue> | undefined;
  s.expect(OPEN_BRACE);
  if (s.peek() === CLOSE_BRACE) throw GIVE_UP;
  do {
    s.expect(QUOTE);
    const key = s.stringBody();
    s.expect(COLON);
    if (key === 'rows' && rows === undefined) rows = scanRowList(s, index, numFeatures, maxRows, coders);
    else if (key === 'context' && context === undefined) context = scanContext(s);
    else throw GIVE_UP;
  } while (s.more(CLOSE_BRACE));
  if (rows === undefined || rows.numRows === 0 || !Number.isNaN(s.peek())) throw GIVE_UP;
  return context === undefined ? rows : { ...rows, context };
}

function scanContext(s: Scan): Record<string, RawValue> {
  // No prototype: a "__proto__" key is an own key here, as JSON.parse makes it.
  const out = Object.create(null) as Record<string, RawValue>;
  s.expect(OPEN_BRACE);
  if (s.peek() === CLOSE_BRACE) {
    s.pos++;
    return out;
  }
  do {
    s.expect(QUOTE);
    const key = s.stringBody();
    if (key in out) throw GIVE_UP;
    s.expect(COLON);
    out[key] = s.value();
  } while (s.more(CLOSE_BRACE));
  return out;
}

function scanRowList(s: Scan, index: ReadonlyMap<string, number>, numFeatures: number, maxRows: number, coders: readonly (IdCoder | undefined)[]): ScannedRows {
  // A coded feature's ids are gathered as numbers (small integers: a compact array) until the row count is known.
  const columns: (RawValue[] | number[] | undefined)[] = new Array<RawValue[] | undefined>(numFeatures).fill(undefined);
  // The first row's fields in its order: later rows are expected to follow it (checked, not assumed).
  const order: number[] = [];
  // The last row that gave each feature (a duplicate key in a row gives up).
  const lastRow = new Int32Array(numFeatures).fill(-1);
  const text = s.text;
  const nameOf = namesOf(index);
  s.expect(OPEN_BRACKET);
  if (s.peek() === CLOSE_BRACKET) {
    s.pos++;
    return { numRows: 0, columns: [] };
  }
  let r = 0;
  do {
    if (r === maxRows) throw GIVE_UP;
    s.expect(OPEN_BRACE);
    if (s.peek() === CLOSE_BRACE) throw GIVE_UP;
    let k = 0;
    do {
      s.expect(QUOTE);
      let i: number | undefined;
      const guess = r > 0 && k < order.length ? order[k]! : -1;
      if (guess >= 0) {
        const name = nameOf[guess]!;
        if (keyAt(text, s.pos, name)) {
          s.pos += name.length + 1;
          i = guess;
        }
      }
      if (i === undefined) {
        i = index.get(s.stringBody());
        if (i === undefined) throw GIVE_UP;
      }
      if (lastRow[i] === r) throw GIVE_UP;
      lastRow[i] = r;
      let col = columns[i];
      if (r === 0) {
        columns[i] = col = [];
        order.push(i);
      } else if (col === undefined) {
        throw GIVE_UP;
      }
      s.expect(COLON);
      const coder = coders[i];
      if (coder === undefined) (col as RawValue[]).push(s.value());
      else (col as number[]).push(s.coded(coder));
      k++;
    } while (s.more(CLOSE_BRACE));
    if (k !== order.length) throw GIVE_UP;
    r++;
  } while (s.more(CLOSE_BRACKET));
  return { numRows: r, columns: columns.map((c, i) => (c !== undefined && coders[i] !== undefined ? new Int32Array(c as number[]) : c as RawValue[] | undefined)) };
}

/** Whether the key at `p` (just past its opening quote) is `name`: compared in place, no string made. */
function keyAt(t: string, p: number, name: string): boolean {
  const n = name.length;
  for (let j = 0; j < n; j++) {
    if (t.charCodeAt(p + j) !== name.charCodeAt(j)) return false;
  }
  return t.charCodeAt(p + n) === QUOTE;
}

/** Each index's feature name, from the name → index map (built once per map). */
const names = new WeakMap<ReadonlyMap<string, number>, string[]>();

function namesOf(index: ReadonlyMap<string, number>): string[] {
  let out = names.get(index);
  if (out === undefined) {
    out = [];
    for (const [name, i] of index) out[i] = name;
    names.set(index, out);
  }
  return out;
}
