/**
 * Chunk-local coding of token columns (worker side) and its merge into global codes (main side).
 * Workers never see each other's tokens, so global codes are assigned only by the main thread,
 * chunk after chunk in file order: the result does not depend on worker count or scheduling.
 */
import type { ChunkTokens, PackedChunkTokens } from './protocol.js';

/** Codes a chunk's token columns; one instance per chunk. */
export class ChunkTokenCoder {
  private readonly maps: Map<string, number>[];
  private readonly tokens: string[][];
  private codes: Int32Array;
  private rows = 0;

  constructor(readonly width: number, rowsHint: number) {
    this.maps = Array.from({ length: width }, () => new Map<string, number>());
    this.tokens = Array.from({ length: width }, () => []);
    this.codes = new Int32Array(Math.max(1, rowsHint) * width);
  }

  /** Appends one row of `width` tokens. */
  add(row: readonly string[]): void {
    const w = this.width;
    if ((this.rows + 1) * w > this.codes.length) {
      const grown = new Int32Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    const base = this.rows * w;
    for (let j = 0; j < w; j++) {
      const t = row[j]!;
      const m = this.maps[j]!;
      let c = m.get(t);
      if (c === undefined) {
        c = this.tokens[j]!.length;
        this.tokens[j]!.push(t);
        m.set(t, c);
      }
      this.codes[base + j] = c;
    }
    this.rows++;
  }

  finish(): ChunkTokens {
    return { width: this.width, codes: this.codes.slice(0, this.rows * this.width), tokens: this.tokens };
  }
}

/** FNV-1a over bytes [s, e): the token hash of PackedChunkTokens, the same on both threads. */
export function tokenHash(src: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let p = s; p < e; p++) h = Math.imul(h ^ src[p]!, 0x01000193);
  return h;
}

/**
 * A set of byte strings numbered 0, 1, … in order of insertion: open addressing on tokenHash, the
 * keys' bytes kept in the table's own arena (or, for a chunk coder, found in the chunk itself).
 */
class ByteTable {
  /** code + 1 per slot, 0 = empty; power-of-two size, kept at most half full. */
  private slots = new Int32Array(1024);
  private slotHash = new Int32Array(1024);
  pos = new Int32Array(512);
  len = new Int32Array(512);
  /** tokenHash per code (0 for a coder's non-ASCII tokens: they are never looked up by bytes). */
  hash = new Int32Array(512);
  size = 0;

  /** The code of bytes src[s, e) whose keys live in `keys`, or -1. */
  find(keys: Uint8Array, src: Uint8Array, s: number, e: number, h: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    const n = e - s;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const c1 = slots[i]!;
      if (c1 === 0) return -1;
      if (this.slotHash[i] !== h) continue;
      const c = c1 - 1;
      if (this.len[c] !== n) continue;
      const q = this.pos[c]!;
      let k = 0;
      while (k < n && keys[q + k] === src[s + k]) k++;
      if (k === n) return c;
    }
  }

  /** Adds a key stored at keys[pos, pos + len) (not already present); returns its code. */
  add(h: number, pos: number, len: number): number {
    const c = this.size++;
    if (c >= this.pos.length) {
      this.pos = grow(this.pos, 2 * c);
      this.len = grow(this.len, 2 * c);
      this.hash = grow(this.hash, 2 * c);
    }
    this.pos[c] = pos;
    this.len[c] = len;
    this.hash[c] = h;
    if (2 * this.size > this.slots.length) {
      const oldSlots = this.slots;
      const oldHash = this.slotHash;
      this.slots = new Int32Array(oldSlots.length * 2);
      this.slotHash = new Int32Array(oldSlots.length * 2);
      for (let i = 0; i < oldSlots.length; i++) if (oldSlots[i] !== 0) this.place(oldHash[i]!, oldSlots[i]!);
    }
    this.place(h, c + 1);
    return c;
  }

  private place(h: number, c1: number): void {
    const mask = this.slots.length - 1;
    let i = h & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = c1;
    this.slotHash[i] = h;
  }
}

function grow<T extends Int32Array | Uint8Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/**
 * ChunkTokenCoder keyed on the token's bytes in the chunk: no string is made (nor hashed by a Map)
 * for a token, which was most of the parse time, and the result is PackedChunkTokens. Local codes
 * are ChunkTokenCoder's for the same rows. A token with non-ASCII bytes is keyed on the UTF-8 of its
 * decoded text: two invalid byte sequences can decode to the same string (U+FFFD), and the string is
 * what the token is; an ASCII token is its own UTF-8, and never equals a non-ASCII one.
 */
export class ByteTokenCoder {
  private readonly tables: ByteTable[];
  /** Column j's tokens with non-ASCII bytes: decoded text -> code, and their UTF-8. */
  private readonly texts: Map<string, number>[];
  /** UTF-8 of the non-ASCII tokens, in order of first appearance (any column). */
  private readonly extra: Buffer[] = [];
  private codes: Int32Array;
  private rows = 0;

  constructor(readonly width: number, private readonly src: Buffer, rowsHint: number) {
    this.tables = Array.from({ length: width }, () => new ByteTable());
    this.texts = Array.from({ length: width }, () => new Map<string, number>());
    this.codes = new Int32Array(Math.max(1, rowsHint) * width);
  }

  /**
   * Appends one row whose column j is src[spans[2j], spans[2j+1]). A row is coded only once its whole
   * line has parsed, so a bad line leaves no token behind (merge would give it a global code).
   */
  addSpans(spans: Int32Array): void {
    const w = this.width;
    if ((this.rows + 1) * w > this.codes.length) this.codes = grow(this.codes, this.codes.length * 2);
    const base = this.rows * w;
    const src = this.src;
    for (let j = 0; j < w; j++) {
      const s = spans[2 * j]!;
      const e = spans[2 * j + 1]!;
      // tokenHash, with `or` collecting the high bits to spot non-ASCII bytes in the same pass.
      let h = 0x811c9dc5 | 0;
      let or = 0;
      for (let p = s; p < e; p++) {
        const b = src[p]!;
        or |= b;
        h = Math.imul(h ^ b, 0x01000193);
      }
      let c: number;
      if (or & 0x80) {
        c = this.codeText(j, src.toString('utf8', s, e));
      } else {
        const t = this.tables[j]!;
        c = t.find(src, src, s, e, h);
        if (c < 0) c = t.add(h, s, e - s);
      }
      this.codes[base + j] = c;
    }
    this.rows++;
  }

  private codeText(j: number, text: string): number {
    const m = this.texts[j]!;
    let c = m.get(text);
    if (c === undefined) {
      const utf8 = Buffer.from(text, 'utf8');
      this.extra.push(utf8);
      // Same numbering as the ASCII tokens; a negative position points into `extra`, never matches a chunk key.
      c = this.tables[j]!.add(0, -this.extra.length, utf8.length);
      m.set(text, c);
    }
    return c;
  }

  finish(): PackedChunkTokens {
    const w = this.width;
    const counts = new Int32Array(w);
    let total = 0;
    let totalBytes = 0;
    for (let j = 0; j < w; j++) {
      const t = this.tables[j]!;
      counts[j] = t.size;
      total += t.size;
      for (let c = 0; c < t.size; c++) totalBytes += t.len[c]!;
    }
    const src = this.src;
    const offsets = new Int32Array(total + 1);
    const hashes = new Int32Array(total);
    const bytes = new Uint8Array(totalBytes);
    let k = 0;
    let q = 0;
    for (let j = 0; j < w; j++) {
      const t = this.tables[j]!;
      for (let c = 0; c < t.size; c++, k++) {
        const pos = t.pos[c]!;
        const len = t.len[c]!;
        // Tokens are a few bytes: a loop beats a subarray + set per token.
        if (pos >= 0) {
          for (let b = 0; b < len; b++) bytes[q + b] = src[pos + b]!;
          hashes[k] = t.hash[c]!;
        } else {
          bytes.set(this.extra[-pos - 1]!, q);
          hashes[k] = tokenHash(bytes, q, q + len);
        }
        q += len;
        offsets[k + 1] = q;
      }
    }
    return { width: w, codes: this.codes.slice(0, this.rows * w), counts, offsets, hashes, bytes };
  }
}

/** The global vocabulary of each token column, grown chunk by chunk in file order. */
export class TokenVocabulary {
  /** Per column: global code -> token, in order of first appearance in the file. */
  readonly tokens: string[][];
  private readonly maps: Map<string, number>[];
  /** For packed chunks: per column, the tokens' UTF-8 in one arena, found by tokenHash. */
  private tables: ByteTable[] | undefined;
  private arenas: Uint8Array[] | undefined;
  private arenaUsed: Int32Array | undefined;

  constructor(readonly width: number) {
    this.tokens = Array.from({ length: width }, () => []);
    this.maps = Array.from({ length: width }, () => new Map<string, number>());
  }

  /** Rewrites a chunk's codes in place to global codes (first `rows` rows only). */
  merge(chunk: ChunkTokens, rows: number): Int32Array {
    if (chunk.width !== this.width) throw new Error(`TokenVocabulary: chunk has ${chunk.width} columns, expected ${this.width}`);
    return remapCodes(chunk.codes, rows, this.width, chunk.tokens.map((local, j) => this.remapStrings(j, local)));
  }

  /**
   * merge for PackedChunkTokens: the same global codes, found by bytes (equal UTF-8 = equal text), so
   * only a token new to the whole file becomes a string. A vocabulary takes packed or string chunks, not both.
   */
  mergePacked(chunk: PackedChunkTokens, rows: number): Int32Array {
    const w = this.width;
    if (chunk.width !== w) throw new Error(`TokenVocabulary: chunk has ${chunk.width} columns, expected ${w}`);
    this.tables ??= Array.from({ length: w }, () => new ByteTable());
    this.arenas ??= Array.from({ length: w }, () => new Uint8Array(1 << 16));
    this.arenaUsed ??= new Int32Array(w);
    const { bytes, offsets, hashes } = chunk;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const remap: Int32Array[] = [];
    let k = 0;
    for (let j = 0; j < w; j++) {
      const table = this.tables[j]!;
      const all = this.tokens[j]!;
      const n = chunk.counts[j]!;
      const r = new Int32Array(n);
      for (let c = 0; c < n; c++, k++) {
        const s = offsets[k]!;
        const e = offsets[k + 1]!;
        const h = hashes[k]!;
        let g = table.find(this.arenas[j]!, bytes, s, e, h);
        if (g < 0) {
          let arena = this.arenas[j]!;
          const at = this.arenaUsed[j]!;
          if (at + (e - s) > arena.length) arena = this.arenas[j] = grow(arena, 2 * (at + (e - s)));
          arena.set(bytes.subarray(s, e), at);
          this.arenaUsed[j] = at + (e - s);
          g = table.add(h, at, e - s);
          all.push(buf.toString('utf8', s, e));
        }
        r[c] = g;
      }
      remap.push(r);
    }
    return remapCodes(chunk.codes, rows, w, remap);
  }

  private remapStrings(j: number, local: readonly string[]): Int32Array {
    const m = this.maps[j]!;
    const all = this.tokens[j]!;
    const r = new Int32Array(local.length);
    for (let c = 0; c < local.length; c++) {
      const t = local[c]!;
      let g = m.get(t);
      if (g === undefined) {
        g = all.length;
        all.push(t);
        m.set(t, g);
      }
      r[c] = g;
    }
    return r;
  }
}

function remapCodes(codes: Int32Array, rows: number, w: number, remap: Int32Array[]): Int32Array {
  for (let p = 0, n = rows * w; p < n;) {
    for (let j = 0; j < w; j++, p++) codes[p] = remap[j]![codes[p]!]!;
  }
  return rows * w === codes.length ? codes : codes.subarray(0, rows * w);
}
