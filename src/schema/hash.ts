/**
 * Hashing of tokens to buckets for fields without a vocabulary. FNV-1a (32-bit) over the UTF-8
 * bytes: simple enough to reimplement in any serving language and stable across runs and
 * platforms, which is all a feature hash needs (it is not used for security).
 */

export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** FNV-1a 32-bit hash of the UTF-8 encoding of `token`, as an unsigned integer. */
export function fnv1a32(token: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 0x80) return fnv1a32Bytes(Buffer.from(token, 'utf8'));
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h >>> 0;
}

function fnv1a32Bytes(bytes: Uint8Array): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/** Bucket in [0, buckets) of a token. */
export function hashBucket(token: string, buckets: number): number {
  return fnv1a32(token) % buckets;
}

/*
 * The byte-level forms below (src/schema/streamBytes.ts) return the hash as int32 bits (h | 0) and
 * take the bucket with bucketOfBits: an unsigned 32-bit value above 2^31 is no small integer to V8,
 * so returning it would box it, and `%` on it would be a floating-point remainder call.
 */

/** fnv1a32 (as int32 bits) of the text whose UTF-8 bytes are bytes[start, end) (a field of a line read as bytes), without making it. */
export function fnv1a32RangeBits(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET | 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    // Not ASCII: hashed as the decoded text is, so that bytes that are not valid UTF-8 hash as their replacement characters do.
    if (c >= 0x80) return fnv1a32(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8')) | 0;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h;
}

const DIGITS = new Int32Array(16);

/** fnv1a32(String(v)) as int32 bits, without the string when v is a safe integer (String(-0) is "0"). */
export function fnv1a32NumberBits(v: number): number {
  if (!Number.isSafeInteger(v)) return fnv1a32(String(v)) | 0;
  let h = FNV_OFFSET | 0;
  let x = v;
  if (x < 0) {
    h = Math.imul(h ^ 45, FNV_PRIME);
    x = -x;
  }
  let n = 0;
  // Digits of a small value in int32 arithmetic (the common case: counts), of a larger one in doubles.
  if (x <= 0x7fffffff) {
    let y = x | 0;
    do {
      const q = (y / 10) | 0;
      DIGITS[n++] = 48 + (y - q * 10);
      y = q;
    } while (y > 0);
  } else {
    do {
      const q = Math.floor(x / 10);
      DIGITS[n++] = 48 + (x - q * 10);
      x = q;
    } while (x > 0);
  }
  while (n > 0) h = Math.imul(h ^ DIGITS[--n]!, FNV_PRIME);
  return h;
}

/** The bucket in [0, buckets) of a hash given as int32 bits: (bits >>> 0) % buckets, in exact double arithmetic (the quotient's floor is exact below 2^32). */
export function bucketOfBits(bits: number, buckets: number): number {
  const u = bits >>> 0;
  return u - Math.floor(u / buckets) * buckets;
}
