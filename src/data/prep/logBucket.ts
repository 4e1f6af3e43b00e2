/**
 * The log-bucket transform of the Criteo winners (and of torch_ref.py) for count-like integers:
 * v > 2 -> floor(ln(v)^2), else v itself (0, 1, 2 and negatives stay distinct), missing -> "".
 * Tokens are strings so that bucketed numbers share one vocabulary mechanism with categoricals.
 */
export function logBucketValue(v: number): string {
  if (Number.isNaN(v)) return '';
  if (v > 2) {
    const l = Math.log(v);
    return String(Math.floor(l * l));
  }
  return String(v);
}

const INT_RE = /^[+-]?\d+$/;

/**
 * logBucketValue of the integer written in `s` ("" = missing). Throws on text that is not an
 * integer; readers validate their columns first, so this is a programming error, not bad data.
 */
export function logBucket(s: string): string {
  if (s.length === 0) return '';
  if (!INT_RE.test(s)) throw new Error(`logBucket: expected an integer or empty, got ${JSON.stringify(s)}`);
  const v = Number(s);
  // Below -2^53 Number() would round, and small values are printed as they are: use BigInt there.
  if (v <= 2 && !Number.isSafeInteger(v)) return BigInt(s).toString();
  return logBucketValue(v);
}
