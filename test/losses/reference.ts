/**
 * Independent float64 implementations of the losses, written straight from SPEC §1 with plain
 * loops (no shared code with src/losses), for finite-difference checks.
 */
export const sp = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
export const sig = (v: number): number => 1 / (1 + Math.exp(-v));
const lse = (xs: number[]): number => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

export function groupsOf(n: number, offsets?: ArrayLike<number>): [number, number][] {
  if (!offsets) return [[0, n]];
  const g: [number, number][] = [];
  for (let s = 0; s + 1 < offsets.length; s++) g.push([offsets[s]!, offsets[s + 1]!]);
  return g;
}

export function bce64(z: Float64Array, y: ArrayLike<number>, w?: ArrayLike<number>): number {
  let s = 0, sw = 0;
  for (let i = 0; i < z.length; i++) {
    const wi = w ? w[i]! : 1;
    s += wi * (y[i]! * sp(-z[i]!) + (1 - y[i]!) * sp(z[i]!));
    sw += wi;
  }
  return s / sw;
}

export function focal64(z: Float64Array, y: ArrayLike<number>, gamma: number): number {
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    const p = sig(z[i]!);
    s -= y[i]! * (1 - p) ** gamma * Math.log(p) + (1 - y[i]!) * p ** gamma * Math.log(1 - p);
  }
  return s / z.length;
}

export function rankNet64(z: Float64Array, y: ArrayLike<number>, offsets?: ArrayLike<number>): number {
  let total = 0, groups = 0;
  for (const [a, b] of groupsOf(z.length, offsets)) {
    let s = 0, pairs = 0;
    for (let i = a; i < b; i++) for (let j = a; j < b; j++) {
      if (y[i]! > y[j]!) { s -= Math.log(sig(z[i]! - z[j]!)); pairs++; }
    }
    if (pairs > 0) { total += s / pairs; groups++; }
  }
  return groups ? total / groups : 0;
}

function listCE(score: (i: number) => number, n: number, y: ArrayLike<number>, offsets?: ArrayLike<number>): number {
  let total = 0, groups = 0;
  for (const [a, b] of groupsOf(n, offsets)) {
    let sy = 0;
    for (let i = a; i < b; i++) sy += y[i]!;
    if (sy <= 0) continue;
    const scores = Array.from({ length: b - a }, (_, k) => score(a + k));
    const l = lse(scores);
    let s = 0;
    for (let i = a; i < b; i++) s -= (y[i]! / sy) * (scores[i - a]! - l);
    total += s;
    groups++;
  }
  return groups ? total / groups : 0;
}

export const listNet64 = (z: Float64Array, y: ArrayLike<number>, offsets?: ArrayLike<number>): number =>
  listCE((i) => z[i]!, z.length, y, offsets);

/** RCR straight from the ratio of sigmoids: −Σ (y/Σy) log(σ(z_i)/Σσ(z_j)). */
export function rcr64(z: Float64Array, y: ArrayLike<number>, offsets?: ArrayLike<number>): number {
  let total = 0, groups = 0;
  for (const [a, b] of groupsOf(z.length, offsets)) {
    let sy = 0, ss = 0;
    for (let i = a; i < b; i++) { sy += y[i]!; ss += sig(z[i]!); }
    if (sy <= 0) continue;
    let s = 0;
    for (let i = a; i < b; i++) s -= (y[i]! / sy) * Math.log(sig(z[i]!) / ss);
    total += s;
    groups++;
  }
  return groups ? total / groups : 0;
}

export function listMle64(z: Float64Array, key: ArrayLike<number>, offsets?: ArrayLike<number>): number {
  let total = 0, groups = 0;
  for (const [a, b] of groupsOf(z.length, offsets)) {
    const idx = Array.from({ length: b - a }, (_, k) => a + k);
    if (idx.every((i) => key[i] === key[a])) continue;
    idx.sort((i, j) => key[j]! - key[i]! || i - j);
    let s = 0;
    // Each item competes with itself and the items with a strictly lower key (ties left out).
    for (const i of idx) {
      const lower = idx.filter((j) => key[j]! < key[i]!);
      if (lower.length > 0) s -= z[i]! - lse([i, ...lower].map((j) => z[j]!));
    }
    total += s;
    groups++;
  }
  return groups ? total / groups : 0;
}

/** z is [N, 2] row-major. */
export function jrc64(z: Float64Array, y: ArrayLike<number>, alpha: number, offsets?: ArrayLike<number>): number {
  const n = y.length;
  let calib = 0;
  for (let i = 0; i < n; i++) {
    const p1 = Math.exp(z[2 * i + 1]!) / (Math.exp(z[2 * i]!) + Math.exp(z[2 * i + 1]!));
    calib -= y[i]! * Math.log(p1) + (1 - y[i]!) * Math.log(1 - p1);
  }
  calib /= n;
  let rank = 0, items = 0;
  for (const [a, b] of groupsOf(n, offsets)) {
    let pos = 0;
    for (let i = a; i < b; i++) pos += y[i]!;
    if (pos === 0 || pos === b - a) continue;
    for (let i = a; i < b; i++) {
      const c = y[i]!;
      const col = Array.from({ length: b - a }, (_, k) => z[2 * (a + k) + c]!);
      rank -= z[2 * i + c]! - lse(col);
      items++;
    }
  }
  return alpha * calib + (1 - alpha) * (items ? rank / items : 0);
}

/** Supervised contrastive with positive anchors; h is [N, d] row-major. */
export function contrastive64(h: Float64Array, y: ArrayLike<number>, d: number, tau: number): number {
  const n = y.length;
  const u = Float64Array.from(h);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += h[i * d + k]! ** 2;
    for (let k = 0; k < d; k++) u[i * d + k] = h[i * d + k]! / Math.sqrt(s + 1e-12);
  }
  const sim = (i: number, j: number): number => {
    let s = 0;
    for (let k = 0; k < d; k++) s += u[i * d + k]! * u[j * d + k]!;
    return s / tau;
  };
  const P = Array.from({ length: n }, (_, i) => i).filter((i) => y[i]! > 0.5);
  if (P.length < 2 || P.length === n) return 0;
  let total = 0;
  for (const i of P) {
    const l = lse(Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).map((j) => sim(i, j)));
    for (const k of P) if (k !== i) total -= (sim(i, k) - l) / (P.length - 1);
  }
  return total / P.length;
}

/** Pointwise KD (SPEC §2): τ · Σ w c ℓ / Σ w, ℓ the soft BCE of σ(zs/τ) against σ(zt/τ). */
export function pointwiseKd64(zs: Float64Array, zt: ArrayLike<number>, tau: number, w?: ArrayLike<number>, c?: ArrayLike<number>): number {
  let s = 0, sw = 0;
  for (let i = 0; i < zs.length; i++) {
    const q = sig(zt[i]! / tau), x = zs[i]! / tau;
    const wi = w ? w[i]! : 1;
    s += wi * (c ? c[i]! : 1) * (q * sp(-x) + (1 - q) * sp(x));
    sw += wi;
  }
  return (tau * s) / sw;
}

/** −Σ P_t log Q per list of ≥ 2 rows, averaged; P_t and Q from the given per-row weights. */
function kdListCE(n: number, teacher: (i: number) => number, student: (i: number) => number, offsets?: ArrayLike<number>): number {
  let total = 0, lists = 0;
  for (const [a, b] of groupsOf(n, offsets)) {
    if (b - a < 2) continue;
    let st = 0, ss = 0;
    for (let i = a; i < b; i++) { st += teacher(i); ss += student(i); }
    for (let i = a; i < b; i++) total -= (teacher(i) / st) * Math.log(student(i) / ss);
    lists++;
  }
  return lists ? total / lists : 0;
}

/** CLID straight from the ratios of sigmoids. */
export const clid64 = (zs: Float64Array, zt: ArrayLike<number>, offsets?: ArrayLike<number>): number =>
  kdListCE(zs.length, (i) => sig(zt[i]!), (i) => sig(zs[i]!), offsets);

/** ListNet-KD: teacher normalised probabilities (or softmax of its logits) against softmax(zs). */
export const listNetKd64 = (zs: Float64Array, zt: ArrayLike<number>, offsets?: ArrayLike<number>, teacher: 'probability' | 'softmax' = 'probability'): number =>
  kdListCE(zs.length, (i) => (teacher === 'probability' ? sig(zt[i]!) : Math.exp(zt[i]!)), (i) => Math.exp(zs[i]!), offsets);
