/**
 * Hashing of tokens to buckets for fields without a vocabulary. FNV-1a (32-bit) over the UTF-8
 * bytes: simple enough to reimplement in any serving language and stable across runs and
 * platforms, which is all a feature hash needs (it is not used for security).
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

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

/** fnv1a32 of the text whose UTF-8 bytes are bytes[start, end) (a field of a line read as bytes), without making it. */
export function fnv1a32Range(bytes: Buffer, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    // Not ASCII: hashed as the decoded text is, so that bytes that are not valid UTF-8 hash as their replacement characters do.
    if (c >= 0x80) return fnv1a32(bytes.toString('utf8', start, end));
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h >>> 0;
}

const DIGITS = new Uint8Array(16);

/** fnv1a32(String(v)), without the string when v is a safe integer (String(-0) is "0"). */
export function fnv1a32Number(v: number): number {
  if (!Number.isSafeInteger(v)) return fnv1a32(String(v));
  let h = FNV_OFFSET;
  let x = v;
  if (x < 0) {
    h = Math.imul(h ^ 45, FNV_PRIME);
    x = -x;
  }
  let n = 0;
  do {
    DIGITS[n++] = 48 + (x % 10);
    x = Math.floor(x / 10);
  } while (x > 0);
  while (n > 0) h = Math.imul(h ^ DIGITS[--n]!, FNV_PRIME);
  return h >>> 0;
}
