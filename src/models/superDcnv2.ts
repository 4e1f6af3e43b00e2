/**
 * The weight-sharing super-network of the efficiency search (SPEC §6, Google's "Efficiency
 * AutoML"): one DCN-v2 at the largest candidate of every decision (embedding dimension, each
 * hidden layer's width, the low-rank cross's rank) that computes any smaller candidate by
 * masking: x0 keeps the first `dim` columns of every field's embedding, hidden layer i its first
 * `hidden[i]` units, the cross bottleneck its first `crossRank` columns. The masks are constant
 * 0 / 1 tensors multiplied into the activations, never into the weights, so every candidate
 * shares the same weights and the embedding gradient stays the lookup's rows (masked columns
 * get zero gradient on those rows; no table-sized gradient is formed).
 *
 * A masked forward equals the forward of an ordinary DCN-v2 of the candidate's sizes holding
 * the corresponding weights (`extractSubnet`), and so do the gradients of those weights: a zero
 * column of x0 stays zero through every cross layer (x0 ⊙ (…) + x_l), and a zeroed unit feeds
 * nothing downstream.
 */
import { Tensor } from '../tensor/tensor.js';
import { DCNv2, type DCNv2Config, type DCNv2Masks } from './dcnv2.js';

/** One point of the search space: the sizes an ordinary dcnv2 `model` section would name. */
export interface Architecture {
  dim: number;
  hidden: readonly number[];
  /** Rank of the low-rank cross layers (undefined: the network's own, full or fixed). */
  crossRank?: number;
}

const range = (n: number, from = 0): Int32Array => Int32Array.from({ length: n }, (_, i) => from + i);

/** Columns of x0 = [field / sequence embeddings ‖ dense] that a candidate of embedding size `dim` keeps. */
function inputColumns(cfg: DCNv2Config, dim: number): Int32Array {
  const blocks = cfg.numFields + (cfg.numSequences ?? 0);
  const dense = cfg.denseDim ?? 0;
  const out = new Int32Array(blocks * dim + dense);
  for (let b = 0; b < blocks; b++) for (let j = 0; j < dim; j++) out[b * dim + j] = b * cfg.dim + j;
  for (let k = 0; k < dense; k++) out[blocks * dim + k] = blocks * cfg.dim + k;
  return out;
}

function maskOf(width: number, kept: Int32Array): Tensor {
  const m = new Float32Array(width);
  for (const i of kept) m[i] = 1;
  return new Tensor(m, [1, width]);
}

export function architectureKey(a: Architecture): string {
  return `dim ${a.dim}, hidden [${a.hidden.join(', ')}]${a.crossRank === undefined ? '' : `, crossRank ${a.crossRank}`}`;
}

export class SuperDCNv2 extends DCNv2 {
  private readonly maskCache = new Map<string, DCNv2Masks>();
  private current: Architecture | null = null;
  /**
   * Picks the architecture of each training step from the global step (the trainer's
   * checkpointed count, so a resumed search samples what the uninterrupted one sampled).
   */
  architectureAt: ((step: number) => Architecture) | null = null;

  /** `cfg` holds the largest candidates: dim, hidden widths and crossRank are the maxima. */
  constructor(cfg: DCNv2Config) {
    super(cfg);
  }

  get architecture(): Architecture | null {
    return this.current;
  }

  /** The candidate the next forward passes compute (null: the whole super-network). */
  setArchitecture(a: Architecture | null): void {
    this.current = a;
    this.subnetMasks = a === null ? null : this.masks(a);
  }

  override onTrainingStep(step: number): void {
    if (this.architectureAt) this.setArchitecture(this.architectureAt(step));
    super.onTrainingStep(step);
  }

  private masks(a: Architecture): DCNv2Masks {
    const key = architectureKey(a);
    const cached = this.maskCache.get(key);
    if (cached) return cached;
    const cfg = this.cfg;
    if (!(Number.isInteger(a.dim) && a.dim >= 1 && a.dim <= cfg.dim)) throw new Error(`SuperDCNv2: dim ${a.dim} is not within 1..${cfg.dim}`);
    if (a.hidden.length !== cfg.hidden.length) throw new Error(`SuperDCNv2: ${a.hidden.length} hidden widths for ${cfg.hidden.length} layers`);
    a.hidden.forEach((h, i) => {
      if (!(Number.isInteger(h) && h >= 1 && h <= cfg.hidden[i]!)) throw new Error(`SuperDCNv2: hidden[${i}] = ${h} is not within 1..${cfg.hidden[i]}`);
    });
    if (a.crossRank !== undefined && !(cfg.crossRank !== undefined && Number.isInteger(a.crossRank) && a.crossRank >= 1 && a.crossRank <= cfg.crossRank)) {
      throw new Error(`SuperDCNv2: crossRank ${a.crossRank} needs a low-rank cross of rank ≥ it (the network's is ${cfg.crossRank ?? 'full'})`);
    }
    const m: DCNv2Masks = {
      input: maskOf(this.input.outDim, inputColumns(cfg, a.dim)),
      ...(a.crossRank !== undefined && { crossRank: maskOf(cfg.crossRank!, range(a.crossRank)) }),
      mlp: { hidden: a.hidden.map((h, i) => maskOf(cfg.hidden[i]!, range(h))) },
    };
    this.maskCache.set(key, m);
    return m;
  }
}

/** The config of an ordinary DCN-v2 of the candidate's sizes (everything else as the super-network's). */
export function subnetConfig(superCfg: DCNv2Config, a: Architecture): DCNv2Config {
  return { ...superCfg, dim: a.dim, hidden: [...a.hidden], ...(a.crossRank !== undefined && { crossRank: a.crossRank }) };
}

/**
 * An ordinary DCN-v2 of the candidate's sizes holding the super-network's weights for it: what
 * the masked super-network computes, as a model that saves, loads, serves and exports as any.
 */
export function extractSubnet(net: SuperDCNv2, a: Architecture): DCNv2 {
  const cfg = net.cfg;
  const sub = new DCNv2(subnetConfig(cfg, a));
  const inCols = inputColumns(cfg, a.dim);
  const nh = a.hidden.length;
  const lastCols = nh > 0 ? range(a.hidden[nh - 1]!) : inCols;
  const crossRank = a.crossRank ?? cfg.crossRank;
  const source = net.stateDict();
  // For each tensor of the sub-network: which rows and columns of the super-network's it takes
  // (weights are stored [in, out]; a vector is one row; null: all).
  const select = (name: string): [Int32Array | null, Int32Array | null] => {
    if (name === 'input.emb.weight') return [null, range(a.dim)];
    let m = /^cross\.layers\.\d+\.([WUVb])$/.exec(name);
    if (m) {
      const k = m[1];
      if (k === 'W') return [inCols, inCols];
      if (k === 'U') return [inCols, range(crossRank!)];
      if (k === 'V') return [range(crossRank!), inCols];
      return [null, inCols];
    }
    if (/^cross\.rezero\.\d+$/.test(name)) return [null, null];
    m = /^mlp\.layers\.(\d+)\.([WUVb])$/.exec(name);
    if (m) {
      const i = Number(m[1]);
      const k = m[2];
      const rows = i === 0 ? inCols : range(a.hidden[i - 1]!);
      const cols = i < nh ? range(a.hidden[i]!) : null;
      if (k === 'W') return [rows, cols];
      if (k === 'U') return [rows, null];
      return [null, cols];
    }
    if (name === 'head.W') {
      const rows = new Int32Array(inCols.length + lastCols.length);
      rows.set(inCols);
      const superInDim = net.input.outDim;
      lastCols.forEach((c, j) => { rows[inCols.length + j] = superInDim + c; });
      return [rows, null];
    }
    if (name === 'head.b') return [null, null];
    throw new Error(`extractSubnet: no rule for tensor '${name}'`);
  };
  const shapes = new Map<string, readonly number[]>([
    ...net.namedParameters().map(([n, p]) => [n, p.shape] as const),
    ...net.namedTables().map(([n, t]) => [n, [t.numRows, t.dim]] as const),
  ]);
  const state = new Map<string, Float32Array>();
  for (const [name, dst] of sub.stateDict()) {
    const src = source.get(name)!;
    const shape = shapes.get(name)!;
    const srcCols = shape.length === 2 ? shape[1]! : shape[0]!;
    const srcRows = src.length / srcCols;
    const [rows, cols] = select(name);
    const r = rows ?? range(srcRows);
    const c = cols ?? range(srcCols);
    if (r.length * c.length !== dst.length) throw new Error(`extractSubnet: '${name}' selects ${r.length}×${c.length} values for ${dst.length}`);
    const out = new Float32Array(dst.length);
    for (let i = 0; i < r.length; i++) for (let j = 0; j < c.length; j++) out[i * c.length + j] = src[r[i]! * srcCols + c[j]!]!;
    state.set(name, out);
  }
  sub.loadStateDict(state);
  return sub;
}
