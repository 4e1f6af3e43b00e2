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
