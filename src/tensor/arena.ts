/**
 * Per-step buffer pool. Activations and intermediate gradients of a training step are taken
 * from here and all handed back at once when the step ends, so a steady-state training loop
 * allocates (almost) no new typed arrays: every step asks for the same sizes in the same order.
 */
export class Arena {
  private free = new Map<number, Float32Array[]>();
  private used: Float32Array[] = [];
  private freeI32 = new Map<number, Int32Array[]>();
  private usedI32: Int32Array[] = [];
  /** Typed arrays created since construction (a steady-state loop keeps this constant). */
  allocations = 0;

  /** A buffer of exactly n floats; contents are undefined unless zero=true. */
  f32(n: number, zero = false): Float32Array {
    const list = this.free.get(n);
    let buf = list?.pop();
    if (!buf) {
      buf = new Float32Array(n);
      this.allocations++;
    } else if (zero) {
      buf.fill(0);
    }
    this.used.push(buf);
    return buf;
  }

  i32(n: number): Int32Array {
    let buf = this.freeI32.get(n)?.pop();
    if (!buf) {
      buf = new Int32Array(n);
      this.allocations++;
    }
    this.usedI32.push(buf);
    return buf;
  }

  /** Returns every buffer handed out since the last reset. */
  reset(): void {
    for (const b of this.used) {
      let list = this.free.get(b.length);
      if (!list) this.free.set(b.length, (list = []));
      list.push(b);
    }
    this.used.length = 0;
    for (const b of this.usedI32) {
      let list = this.freeI32.get(b.length);
      if (!list) this.freeI32.set(b.length, (list = []));
      list.push(b);
    }
    this.usedI32.length = 0;
  }

  /** Drops every pooled buffer (e.g. after the batch size changed for good). */
  clear(): void {
    this.reset();
    this.free.clear();
    this.freeI32.clear();
  }
}
