/**
 * Data profile of a labeled row stream: rows, label rates, per-field cardinality and missing share.
 * It takes any labeled raw rows, so every reader (and later the schema's Dataset builder) can be
 * profiled the same way.
 */
import type { RawValue } from '../prep/field.js';

export interface ProfileSource {
  fieldNames: readonly string[];
  labelNames: readonly string[];
  rows: AsyncIterable<{ labels: ArrayLike<number>; values: ArrayLike<RawValue> }>;
}

export interface LabelProfile {
  name: string;
  /** Mean label value: the positive rate for 0/1 labels. */
  rate: number;
  /** Rows per distinct label value (text keys, sorted numerically). */
  counts: Record<string, number>;
}

export interface FieldProfile {
  name: string;
  /** Distinct non-missing tokens. */
  cardinality: number;
  missing: number;
  missingShare: number;
}

export interface DataProfile {
  rows: number;
  labels: LabelProfile[];
  fields: FieldProfile[];
}

/** A value is missing when it is NaN or empty text, as the readers report missing. */
function isMissing(v: RawValue): boolean {
  return typeof v === 'number' ? Number.isNaN(v) : v.length === 0;
}

export async function profileRows(source: ProfileSource): Promise<DataProfile> {
  const F = source.fieldNames.length;
  const L = source.labelNames.length;
  // Numbers and text are kept in one set each field: 1 and "1" are the same token to the encoders.
  const distinct = Array.from({ length: F }, () => new Set<string>());
  const missing = new Float64Array(F);
  const sums = new Float64Array(L);
  const counts = Array.from({ length: L }, () => new Map<number, number>());
  let rows = 0;
  for await (const row of source.rows) {
    for (let j = 0; j < F; j++) {
      const v = row.values[j]!;
      if (isMissing(v)) missing[j]!++;
      else distinct[j]!.add(typeof v === 'number' ? String(v) : v);
    }
    for (let k = 0; k < L; k++) {
      const y = row.labels[k]!;
      sums[k]! += y;
      counts[k]!.set(y, (counts[k]!.get(y) ?? 0) + 1);
    }
    rows++;
  }
  return {
    rows,
    labels: source.labelNames.map((name, k) => ({
      name,
      rate: rows === 0 ? Number.NaN : sums[k]! / rows,
      counts: Object.fromEntries([...counts[k]!].sort((a, b) => a[0] - b[0]).map(([y, c]) => [String(y), c])),
    })),
    fields: source.fieldNames.map((name, j) => ({
      name, cardinality: distinct[j]!.size, missing: missing[j]!, missingShare: rows === 0 ? 0 : missing[j]! / rows,
    })),
  };
}

/** The profile as an aligned text table. */
export function formatProfile(p: DataProfile, header: readonly [string, string][]): string {
  const out: string[] = [];
  const w = Math.max(...header.map(([k]) => k.length), 'rows'.length);
  for (const [k, v] of [...header, ['rows', String(p.rows)] as [string, string]]) out.push(`${k.padEnd(w)}  ${v}`);
  for (const l of p.labels) {
    const dist = Object.entries(l.counts).map(([y, c]) => `${y}: ${c}`).join(', ');
    out.push(`${'label'.padEnd(w)}  ${l.name}: rate ${l.rate.toFixed(4)} (${dist})`);
  }
  if (p.fields.length > 0) {
    const nw = Math.max('field'.length, ...p.fields.map((f) => f.name.length));
    out.push('', `${'field'.padEnd(nw)}  ${'cardinality'.padStart(11)}  ${'missing'.padStart(9)}`);
    for (const f of p.fields) {
      out.push(`${f.name.padEnd(nw)}  ${String(f.cardinality).padStart(11)}  ${`${(100 * f.missingShare).toFixed(2)}%`.padStart(9)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
