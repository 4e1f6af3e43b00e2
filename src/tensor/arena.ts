/**
 * Per-step buffer pool. Activations and intermediate gradients of a training step are taken
 * from here and all handed back at once when the step ends, so a steady-state training loop
 * allocates no new typed arrays: every step asks for the same sizes in the same order.
 *
 * Some steps ask for sizes that differ every time (RankNet pairs depend on the positives in the
 * batch, lists and groups on the batch's composition). Keeping one pool per exact length would
 * keep every size ever seen, so memory would grow without limit. Instead a request is rounded up
 * to a size class (four per octave, so at most 25 % slack) and served as a view of a pooled
 * buffer of that class, and when a step ends the pool is cut back to at most
 * max(minPooledBytes, slack × the largest step seen), dropping the buffers idle longest.
 */

/** Buffers a pool can hand out (the native kernels read views by their own offset and length). */
type Typed = Float32Array | Int32Array;

export interface ArenaOptions {
  /** After a step the pool keeps at most this many times the bytes of the largest step seen (default 2)... */
  slack?: number;
  /** ...or this many bytes when that is more (default 64 MiB), so small steps never churn. */
  minPooledBytes?: number;
}

/** The capacity that serves a request of n elements: n rounded up to 4, 5, 6 or 7 × 2^k. */
export function sizeClass(n: number): number {
  if (n <= 8) return 8;
  const k = Math.floor(Math.log2(n - 1)) - 2;
  const step = 2 ** k;
  return (Math.floor((n - 1) / step) + 1) * step;
}

interface Slot<T extends Typed> {
  buf: T;
  /** The last view handed out, reused while the same length is asked for again. */
  view: T;
  /** Step (reset count) in which the buffer was last handed out. */
  lastUsed: number;
}

class Pool<T extends Typed> {
  private readonly free = new Map<number, Slot<T>[]>();
  private readonly used: Slot<T>[] = [];
  /** Bytes of every buffer the pool owns (free or handed out). */
  ownedBytes = 0;
  private stepBytes = 0;
  private peakStepBytes = 0;
  allocations = 0;
  views = 0;

  constructor(private readonly make: (n: number) => T, private readonly opts: Required<ArenaOptions>) {}

  take(n: number, step: number): T {
    const cap = sizeClass(n);
    let slot = this.free.get(cap)?.pop();
    if (!slot) {
      const buf = this.make(cap);
      slot = { buf, view: buf, lastUsed: 0 };
      this.allocations++;
      this.ownedBytes += buf.byteLength;
    }
    if (slot.view.length !== n) {
      slot.view = slot.buf.subarray(0, n) as T;
      this.views++;
    }
    slot.lastUsed = step;
    this.stepBytes += slot.buf.byteLength;
    this.used.push(slot);
    return slot.view;
  }

  reset(): void {
    // Returned in reverse so that the next step, popping, gets each buffer for the request it
    // served this step: the same length, hence the same cached view.
    for (let i = this.used.length - 1; i >= 0; i--) {
      const s = this.used[i]!;
      let list = this.free.get(s.buf.length);
      if (!list) this.free.set(s.buf.length, (list = []));
      list.push(s);
    }
    this.used.length = 0;
    this.peakStepBytes = Math.max(this.peakStepBytes, this.stepBytes);
    this.stepBytes = 0;
    const limit = Math.max(this.opts.minPooledBytes, this.opts.slack * this.peakStepBytes);
    if (this.ownedBytes > limit) this.evict(limit);
  }

  /** Drops the least recently used buffers until the pool holds at most `limit` bytes. */
  private evict(limit: number): void {
    const all: Slot<T>[] = [];
    for (const list of this.free.values()) all.push(...list);
    all.sort((a, b) => a.lastUsed - b.lastUsed);
    const drop = new Set<Slot<T>>();
    for (const s of all) {
      if (this.ownedBytes <= limit) break;
      drop.add(s);
      this.ownedBytes -= s.buf.byteLength;
    }
    for (const [cap, list] of this.free) {
      const keep = list.filter((s) => !drop.has(s));
      if (keep.length > 0) this.free.set(cap, keep);
      else this.free.delete(cap);
    }
  }

  clear(): void {
    this.reset();
    this.free.clear();
    this.ownedBytes = 0;
    this.peakStepBytes = 0;
  }
}

export class Arena {
  private readonly f32Pool: Pool<Float32Array>;
  private readonly i32Pool: Pool<Int32Array>;
  private step = 0;

  constructor(options: ArenaOptions = {}) {
    const opts = { slack: options.slack ?? 2, minPooledBytes: options.minPooledBytes ?? 64 * 1024 * 1024 };
    if (!(opts.slack >= 1)) throw new Error(`Arena: slack must be ≥ 1, got ${opts.slack}`);
    if (!(opts.minPooledBytes >= 0)) throw new Error(`Arena: minPooledBytes must be ≥ 0, got ${opts.minPooledBytes}`);
    this.f32Pool = new Pool((n) => new Float32Array(n), opts);
    this.i32Pool = new Pool((n) => new Int32Array(n), opts);
  }

  /** Backing buffers created since construction (a steady-state loop keeps this constant). */
  get allocations(): number {
    return this.f32Pool.allocations + this.i32Pool.allocations;
  }

  /** Views created since construction (also constant in a steady-state loop). */
  get views(): number {
    return this.f32Pool.views + this.i32Pool.views;
  }

  /** Bytes of the buffers the arena holds, handed out or pooled. */
  get pooledBytes(): number {
    return this.f32Pool.ownedBytes + this.i32Pool.ownedBytes;
  }

  /** A buffer of exactly n floats; contents are undefined unless zero=true. */
  f32(n: number, zero = false): Float32Array {
    const buf = this.f32Pool.take(n, this.step);
    if (zero) buf.fill(0);
    return buf;
  }

  i32(n: number): Int32Array {
    return this.i32Pool.take(n, this.step);
  }

  /** Returns every buffer handed out since the last reset, and trims the pool. */
  reset(): void {
    this.f32Pool.reset();
    this.i32Pool.reset();
    this.step++;
  }

  /** Drops every pooled buffer (e.g. after the batch size changed for good). */
  clear(): void {
    this.f32Pool.clear();
    this.i32Pool.clear();
  }
}
