/**
 * A vocabulary field's ids looked up by a slice of a request's text, without making the string:
 * open addressing over an FNV-1a hash of the characters, the tokens' characters packed in one
 * array. Reading a 100-row Criteo body, a `Map` probe with a fresh substring per value was the
 * largest single cost of the event loop (docs/benchmarks.md, "The request stage"); this is about
 * half of it. It answers what FittedSchema's lookup `new Map(vocabulary.map((t, i) => [t, i + 1]))`
 * answers for a string: i + 1 for vocabulary[i] (the last one of equal tokens), 0 (OOV) otherwise.
 */

import { FNV_OFFSET, FNV_PRIME } from '../schema/hash.js';

// Signed, as Math.imul answers and the Int32Array of hashes holds them (the hash of "" is the offset itself).
const FNV_OFFSET_BITS = FNV_OFFSET | 0;

/** The hash `VocabTable.find` expects, of `text` from `start` to `end` (the rows reader folds it in its own character loop). */
export function hashChars(text: string, start: number, end: number): number {
  let h = FNV_OFFSET_BITS;
  for (let k = start; k < end; k++) h = Math.imul(h ^ text.charCodeAt(k), FNV_PRIME);
  return h;
}

export class VocabTable {
  /** Pairs (hash, local id); local id 0 = an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** Token i's characters are chars[starts[i]] … chars[starts[i + 1] - 1]. */
  private readonly starts: Int32Array;
  private readonly chars: Uint16Array;

  constructor(vocabulary: readonly string[]) {
    let size = 16;
    while (size < vocabulary.length * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size * 2);
    this.starts = new Int32Array(vocabulary.length + 1);
    let n = 0;
    for (const t of vocabulary) n += t.length;
    this.chars = new Uint16Array(n);
    let o = 0;
    vocabulary.forEach((t, i) => {
      this.starts[i] = o;
      for (let k = 0; k < t.length; k++) this.chars[o++] = t.charCodeAt(k);
    });
    this.starts[vocabulary.length] = o;
    vocabulary.forEach((t, i) => {
      const h = hashChars(t, 0, t.length);
      const q = this.slot(t, 0, t.length, h);
      // An equal token seen before is replaced: the Map built from the vocabulary keeps the last.
      this.slots[2 * q] = h;
      this.slots[2 * q + 1] = i + 1;
    });
  }

  /** Local id (vocabulary index + 1, 0 = OOV) of `text` from `start` to `end`, whose hashChars is `h`. */
  find(text: string, start: number, end: number, h: number): number {
    return this.slots[2 * this.slot(text, start, end, h) + 1]!;
  }

  /** The slot holding the token, or the empty slot where it would go. */
  private slot(text: string, start: number, end: number, h: number): number {
    const { slots, mask, starts, chars } = this;
    const len = end - start;
    for (let q = h & mask; ; q = (q + 1) & mask) {
      const id = slots[2 * q + 1]!;
      if (id === 0) return q;
      if (slots[2 * q] !== h) continue;
      const s = starts[id - 1]!;
      if (starts[id]! - s !== len) continue;
      let k = 0;
      while (k < len && chars[s + k] === text.charCodeAt(start + k)) k++;
      if (k === len) return q;
    }
  }
}
