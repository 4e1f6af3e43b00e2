/**
 * Synthetic Criteo-shaped data at any size, for benchmarks and tests that need realistic shape
 * without the real files: per-field Zipf id frequencies (a few head ids dominate, as in real
 * click logs) and labels drawn from a hidden logistic model over the ids, so a model has signal to
 * learn. Rows come in chunks, so millions of them can go to a cache or a TSV file in constant
 * memory. Everything is a function of the seed: the same options give the same bytes, whatever
 * the chunk size (the rows are one random stream).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Rng } from '../util/random.js';
import { writeCacheChunks, type CacheIdentity } from './cache/writer.js';
import type { CacheManifest } from './cache/format.js';
import type { Dataset } from './dataset.js';

export interface SyntheticOptions {
  numRows: number;
  /** Default 39 (13 integer-like + 26 categorical, as Criteo). */
  numFields?: number;
  /** Of the fields, how many come first as integer columns in the TSV text (default min(13, numFields)). */
  numIntFields?: number;
  /** Ids per field: one size for all, or one per field; default Criteo-like sizes (capped at 10^5). */
  vocabSizes?: number | readonly number[];
  /** Zipf exponent s: P(rank k) ∝ 1/k^s (default 1.1). */
  zipfExponent?: number;
  seed?: number;
  /** Rows per chunk (default 65536); does not change the data. */
  chunkRows?: number;
  /** Standard deviation of the hidden per-id logit weights (default 0.15). */
  weightScale?: number;
  /** Hidden model's intercept (default −1.3: a click rate around 0.25, as in Criteo). */
  bias?: number;
}

// Criteo Kaggle's categorical cardinalities, capped so the hidden weight table stays small.
const CRITEO_CAT_SIZES = [1460, 583, 100000, 100000, 305, 24, 12517, 633, 3, 93145, 5683, 100000, 3194, 27, 14992,
  100000, 10, 5652, 2173, 4, 100000, 18, 15, 100000, 105, 100000];
const INT_FIELD_SIZE = 64;

function fieldSizes(o: SyntheticOptions, F: number, nInt: number): Int32Array {
  const v = o.vocabSizes;
  const sizes = new Int32Array(F);
  for (let j = 0; j < F; j++) {
    sizes[j] = typeof v === 'number' ? v : v !== undefined ? v[j] ?? NaN : j < nInt ? INT_FIELD_SIZE : CRITEO_CAT_SIZES[(j - nInt) % CRITEO_CAT_SIZES.length]!;
    if (!(Number.isInteger(sizes[j]) && sizes[j]! >= 1) || (Array.isArray(v) && v.length !== F)) {
      throw new Error(`synthetic: vocabSizes must be positive integers, one per field (${F})`);
    }
  }
  return sizes;
}

/** P(rank k) for k = 1..V under Zipf(s), normalised (index 0 = the most frequent id). */
export function zipfProbabilities(V: number, s: number): Float64Array {
  const p = new Float64Array(V);
  let z = 0;
  for (let k = 0; k < V; k++) z += p[k] = Math.pow(k + 1, -s);
  for (let k = 0; k < V; k++) p[k]! /= z;
  return p;
}

/** Walker/Vose alias table: O(1) draws from a discrete distribution, needed at 10^8+ draws. */
class AliasTable {
  readonly prob: Float64Array;
  readonly alias: Int32Array;
  constructor(p: Float64Array) {
    const V = p.length;
    this.prob = new Float64Array(V);
    this.alias = new Int32Array(V);
    const scaled = new Float64Array(V);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < V; i++) {
      scaled[i] = p[i]! * V;
      (scaled[i]! < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large[large.length - 1]!;
      this.prob[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) {
        large.pop();
        small.push(l);
      }
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1;
  }

  /** One uniform draw splits into the column (integer part) and the coin (fraction). */
  sample(u: number): number {
    const x = u * this.prob.length;
    const i = Math.floor(x);
    return x - i < this.prob[i]! ? i : this.alias[i]!;
  }
}

/** The generator's fixed parts: layout, samplers and hidden weights. */
export class SyntheticCriteo {
  readonly numRows: number;
  readonly numFields: number;
  readonly numIntFields: number;
  readonly fieldNames: string[];
  readonly fieldSizes: Int32Array;
  readonly fieldOffsets: Int32Array;
  readonly numIds: number;
  /** The hidden logistic model: logit = bias + Σ_j weights[id_j]. */
  readonly weights: Float32Array;
  readonly bias: number;
  private readonly tables: AliasTable[];
  private readonly seed: number;
  private readonly chunkRows: number;

  constructor(o: SyntheticOptions) {
    if (!(Number.isInteger(o.numRows) && o.numRows >= 0)) throw new Error(`synthetic: numRows must be a non-negative integer, got ${o.numRows}`);
    this.numRows = o.numRows;
    const F = this.numFields = o.numFields ?? 39;
    if (!(Number.isInteger(F) && F >= 1)) throw new Error(`synthetic: numFields must be a positive integer, got ${F}`);
    this.numIntFields = Math.min(o.numIntFields ?? 13, F);
    this.fieldNames = Array.from({ length: F }, (_, j) => (j < this.numIntFields ? `I${j + 1}` : `C${j - this.numIntFields + 1}`));
    this.fieldSizes = fieldSizes(o, F, this.numIntFields);
    this.fieldOffsets = new Int32Array(F);
    let off = 0;
    for (let j = 0; j < F; j++) {
      this.fieldOffsets[j] = off;
      off += this.fieldSizes[j]!;
    }
    this.numIds = off;
    const s = o.zipfExponent ?? 1.1;
    this.tables = Array.from(this.fieldSizes, (V) => new AliasTable(zipfProbabilities(V, s)));
    this.seed = (o.seed ?? 0) >>> 0;
    this.chunkRows = o.chunkRows ?? 65536;
    if (!(Number.isInteger(this.chunkRows) && this.chunkRows >= 1)) throw new Error(`synthetic: chunkRows must be a positive integer`);
    const wr = new Rng(this.seed);
    const scale = o.weightScale ?? 0.15;
    this.weights = new Float32Array(off);
    for (let i = 0; i < off; i++) this.weights[i] = scale * wr.normal();
    this.bias = o.bias ?? -1.3;
  }

  /** The rows as Datasets of at most chunkRows rows each, in order. */
  *chunks(): Generator<Dataset> {
    const F = this.numFields;
    // A stream separate from the weights', so that the rows do not depend on the vocabulary sizes' draw count.
    const rng = new Rng((this.seed ^ 0x9e3779b9) >>> 0);
    for (let start = 0; start < this.numRows || (start === 0 && this.numRows === 0); start += this.chunkRows) {
      const n = Math.min(this.chunkRows, this.numRows - start);
      const ids = new Int32Array(n * F);
      const labels = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        let logit = this.bias;
        for (let j = 0; j < F; j++) {
          const id = this.fieldOffsets[j]! + this.tables[j]!.sample(rng.uniform());
          ids[r * F + j] = id;
          logit += this.weights[id]!;
        }
        labels[r] = rng.uniform() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
      }
      yield {
        numRows: n, numFields: F, fieldNames: this.fieldNames, ids, fieldSizes: this.fieldSizes, fieldOffsets: this.fieldOffsets,
        numIds: this.numIds, labels: [labels], labelNames: ['label'], negativeSampleRate: 1,
      };
      if (n === 0) break;
    }
  }

  /** All rows in one Dataset. */
  dataset(): Dataset {
    const F = this.numFields;
    const ids = new Int32Array(this.numRows * F);
    const labels = new Float32Array(this.numRows);
    let p = 0;
    let last: Dataset | undefined;
    for (const c of this.chunks()) {
      ids.set(c.ids, p * F);
      labels.set(c.labels[0]!, p);
      p += c.numRows;
      last = c;
    }
    return { ...last!, numRows: this.numRows, ids, labels: [labels] };
  }

  /**
   * Criteo TSV text of the rows (label, I1..I13, C1..C26), one string per chunk. Rank 1 of every
   * field is written as an empty column (missing), so parsers meet missing values at a realistic
   * rate; integer fields write their rank, categorical ones an 8-hex-digit token fixed per (field, rank).
   */
  *tsvChunks(): Generator<string> {
    const F = this.numFields;
    const nInt = this.numIntFields;
    const tokens = Array.from(this.fieldSizes, (V, j) => (rank: number): string => {
      if (rank === 1) return '';
      if (j < nInt) return String(rank);
      let h = Math.imul(j + 1, 0x9e3779b1) ^ Math.imul(rank + 1, 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
      h ^= h >>> 13;
      return (h >>> 0).toString(16).padStart(8, '0');
    });
    for (const c of this.chunks()) {
      const lines = new Array<string>(c.numRows);
      const cols = new Array<string>(F + 1);
      for (let r = 0; r < c.numRows; r++) {
        cols[0] = String(c.labels[0]![r]!);
        for (let j = 0; j < F; j++) cols[j + 1] = tokens[j]!(c.ids[r * F + j]! - this.fieldOffsets[j]!);
        lines[r] = cols.join('\t');
      }
      if (c.numRows > 0) yield `${lines.join('\n')}\n`;
    }
  }
}

/** Writes the rows as Criteo TSV (gzip when `gzip`; deterministic bytes either way: gzip headers carry no time). */
export async function writeSyntheticCriteoText(file: string, options: SyntheticOptions, gzip = false): Promise<void> {
  const text = Readable.from(new SyntheticCriteo(options).tsvChunks());
  if (gzip) await pipeline(text, createGzip(), createWriteStream(file));
  else await pipeline(text, createWriteStream(file));
}

/** Streams the rows into a cache at `dir` (chunk by chunk; the options are the cache's schema). */
export async function writeSyntheticCache(dir: string, options: SyntheticOptions, identity: CacheIdentity = {}): Promise<CacheManifest> {
  const { numRows, numFields, numIntFields, vocabSizes, zipfExponent, seed, weightScale, bias } = options;
  const schema = {
    generator: 'ctrkit synthetic criteo', numRows, numFields: numFields ?? 39, numIntFields: numIntFields ?? null,
    vocabSizes: vocabSizes === undefined ? null : typeof vocabSizes === 'number' ? vocabSizes : [...vocabSizes],
    zipfExponent: zipfExponent ?? 1.1, seed: seed ?? 0, weightScale: weightScale ?? 0.15, bias: bias ?? -1.3,
  };
  return writeCacheChunks(dir, new SyntheticCriteo(options).chunks(), { schema, ...identity });
}
