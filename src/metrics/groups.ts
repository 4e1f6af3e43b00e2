/** Bucketing rows by a group / slice key, shared by the per-list and per-slice metrics. */

/** Group identifiers: numeric ids (typed arrays work) or strings, compared with SameValueZero. */
export type GroupKeyArray = ArrayLike<number | string>;

export interface GroupedRows {
  /** Distinct keys in order of first appearance. */
  readonly keys: (number | string)[];
  /** Row indices grouped: group g holds rows.subarray(start[g], start[g + 1]), in input order. */
  readonly rows: Uint32Array;
  readonly start: Uint32Array;
}

/** O(n) counting sort of row indices by group, groups in first-seen order, rows stable within a group. */
export function groupRows(groups: GroupKeyArray): GroupedRows {
  const n = groups.length;
  const ids = new Map<number | string, number>();
  const keys: (number | string)[] = [];
  const gid = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = groups[i]!;
    let id = ids.get(k);
    if (id === undefined) {
      id = keys.length;
      ids.set(k, id);
      keys.push(k);
    }
    gid[i] = id;
  }
  const G = keys.length;
  const start = new Uint32Array(G + 1);
  for (let i = 0; i < n; i++) start[gid[i]! + 1]!++;
  for (let g = 0; g < G; g++) start[g + 1]! += start[g]!;
  const fill = start.slice(0, G);
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[fill[gid[i]!]!++] = i;
  return { keys, rows, start };
}
