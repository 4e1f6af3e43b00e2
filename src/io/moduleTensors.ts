/**
 * A module's persistent tensors with their shapes. `stateDict()` gives flat arrays; files
 * store shapes too, so that a reader (including other frameworks) sees [rows, dim] tables and
 * [in, out] weights, and a loader can report a shape mismatch rather than a length mismatch.
 */
import type { Module } from '../nn/module.js';

export interface ShapedTensor {
  data: Float32Array;
  shape: readonly number[];
}

export function moduleTensors(m: Module): Map<string, ShapedTensor> {
  const out = new Map<string, ShapedTensor>();
  for (const [n, p] of m.namedParameters()) out.set(n, { data: p.data, shape: p.shape });
  for (const [n, t] of m.namedTables()) out.set(n, { data: t.data, shape: [t.numRows, t.dim] });
  for (const [n, b] of m.namedBuffers()) out.set(n, { data: b, shape: [b.length] });
  return out;
}
