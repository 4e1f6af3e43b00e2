/**
 * Validation helpers shared by the reference kernels. Every error names the kernel so a
 * failure deep inside a training step points at the call that received bad sizes.
 */

/** Typed arrays the kernels read or write. */
export type NumArray = Float32Array | Float64Array | Int32Array;

/** Throws unless `v` is a non-negative safe integer (dimensions, counts). */
export function checkDim(kernel: string, name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new Error(`${kernel}: ${name} must be a non-negative integer, got ${v}`);
  }
}

/**
 * Throws unless `arr` holds at least `len` elements. Longer buffers are accepted because
 * callers legitimately pass views into pooled storage that is larger than one tensor.
 */
export function checkLen(kernel: string, name: string, arr: NumArray, len: number, what: string): void {
  if (arr.length < len) {
    throw new Error(`${kernel}: ${name} has ${arr.length} elements, needs ${len} (${what})`);
  }
}

/**
 * Validates segment offsets: S+1 entries, offsets[0] = 0, non-decreasing, offsets[S] = rows.
 * Returns S. `rows` = null skips the last-entry check (the caller derives rows from it).
 */
export function checkOffsets(kernel: string, offsets: Int32Array, rows: number | null, noun = 'rows'): number {
  if (offsets.length < 1) throw new Error(`${kernel}: offsets must have at least 1 entry (S+1), got 0`);
  if (offsets[0] !== 0) throw new Error(`${kernel}: offsets[0] must be 0, got ${offsets[0]}`);
  const S = offsets.length - 1;
  for (let s = 0; s < S; s++) {
    if (offsets[s + 1] < offsets[s]) {
      throw new Error(`${kernel}: offsets must be non-decreasing, offsets[${s}]=${offsets[s]} > offsets[${s + 1}]=${offsets[s + 1]}`);
    }
  }
  if (rows !== null && offsets[S] !== rows) {
    throw new Error(`${kernel}: offsets[${S}] must equal the number of ${noun} ${rows}, got ${offsets[S]}`);
  }
  return S;
}

/**
 * Segment kernels receive no row count, so rows comes from x being exactly [rows, d]; the
 * offsets must then end at that row count (a mismatch is almost always a stale offsets
 * array, which silently dropping rows would hide). d = 0 carries no row information.
 */
export function segmentRows(kernel: string, name: string, arr: NumArray, d: number, offsets: Int32Array): number {
  checkDim(kernel, 'd', d);
  if (d === 0) {
    checkOffsets(kernel, offsets, null);
    return offsets[offsets.length - 1];
  }
  if (arr.length % d !== 0) {
    throw new Error(`${kernel}: ${name} length ${arr.length} is not a multiple of d=${d}`);
  }
  const rows = arr.length / d;
  checkOffsets(kernel, offsets, rows);
  return rows;
}
