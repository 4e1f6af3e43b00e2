/**
 * Chunk-local coding of token columns (worker side) and its merge into global codes (main side).
 * Workers never see each other's tokens, so global codes are assigned only by the main thread,
 * chunk after chunk in file order: the result does not depend on worker count or scheduling.
 */
import type { ChunkTokens } from './protocol.js';

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

/** The global vocabulary of each token column, grown chunk by chunk in file order. */
export class TokenVocabulary {
  /** Per column: global code -> token, in order of first appearance in the file. */
  readonly tokens: string[][];
  private readonly maps: Map<string, number>[];

  constructor(readonly width: number) {
    this.tokens = Array.from({ length: width }, () => []);
    this.maps = Array.from({ length: width }, () => new Map<string, number>());
  }

  /** Rewrites a chunk's codes in place to global codes (first `rows` rows only). */
  merge(chunk: ChunkTokens, rows: number): Int32Array {
    const w = this.width;
    if (chunk.width !== w) throw new Error(`TokenVocabulary: chunk has ${chunk.width} columns, expected ${w}`);
    const remap: Int32Array[] = [];
    for (let j = 0; j < w; j++) {
      const local = chunk.tokens[j]!;
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
      remap.push(r);
    }
    const codes = chunk.codes;
    for (let p = 0, n = rows * w; p < n;) {
      for (let j = 0; j < w; j++, p++) codes[p] = remap[j]![codes[p]!]!;
    }
    return rows * w === codes.length ? codes : codes.subarray(0, rows * w);
  }
}
