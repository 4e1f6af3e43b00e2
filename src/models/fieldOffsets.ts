/** Offsets [0, F, 2F, …, B·F] that make each row's F field ids one bag (cached by shape). */
const cache = new Map<string, Int32Array>();

export function bagOffsets(batch: number, numFields: number): Int32Array {
  const key = `${batch}x${numFields}`;
  let o = cache.get(key);
  if (!o) {
    o = new Int32Array(batch + 1);
    for (let i = 0; i <= batch; i++) o[i] = i * numFields;
    if (cache.size > 64) cache.clear();
    cache.set(key, o);
  }
  return o;
}
