import { createHash } from 'node:crypto';
import type { EncodedDataset } from './encode.js';

/** What the prep text is made of: any dataset with one label column and row-major ids. */
export type PrepText = Pick<EncodedDataset, 'numRows' | 'numFields' | 'ids' | 'labels'>;

/**
 * Calls `sink` with the text `label id_1 ... id_F\n` of all rows in file order, in pieces of about
 * `pieceChars` characters: the format of torch_ref.py --dump and of its prep_sha256.
 */
export function writePrepText(ds: PrepText, sink: (text: string) => void, pieceChars = 1 << 20): void {
  const F = ds.numFields;
  const parts: string[] = [];
  let size = 0;
  const row = new Array<number>(F);
  for (let r = 0; r < ds.numRows; r++) {
    const base = r * F;
    for (let j = 0; j < F; j++) row[j] = ds.ids[base + j]!;
    const line = `${ds.labels[r]} ${row.join(' ')}\n`;
    parts.push(line);
    size += line.length;
    if (size >= pieceChars) {
      sink(parts.join(''));
      parts.length = 0;
      size = 0;
    }
  }
  if (parts.length > 0) sink(parts.join(''));
}

/** SHA-256 (hex) of writePrepText's text: comparable with the benchmark README's prep_sha256. */
export function prepSha256(ds: PrepText): string {
  const h = createHash('sha256');
  writePrepText(ds, (t) => h.update(t, 'utf8'));
  return h.digest('hex');
}
