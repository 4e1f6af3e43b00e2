import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSvmlight, qidGroupOffsets, type SvmlightRow } from '../../src/data/readers/index.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const VALI = 'mq2008/Fold1_vali.txt.gz';
const TRAIN = 'mq2008/Fold1_train.txt.gz';

async function head(file: string, n: number): Promise<SvmlightRow[]> {
  const out: SvmlightRow[] = [];
  for await (const row of await openSvmlight(join(sharedDataDir(), file))) {
    out.push(row);
    if (out.length === n) break; // stops the stream early: only a slice is read
  }
  return out;
}

describe('SVMlight reader on MQ2008 (LETOR)', () => {
  it('vali (CRLF + #docid comments): first query group, graded labels, 46 features', { skip: skipWithoutSharedData(VALI) }, async () => {
    const rows = await head(VALI, 300);
    assert.equal(rows.length, 300);
    assert.equal(rows[0]!.qid, 15928);
    assert.equal(rows[0]!.label, 0);
    assert.equal(rows[0]!.values[0], 1);
    for (const r of rows) {
      assert.equal(r.indices.length, 46);
      assert.deepEqual(Array.from(r.indices), Array.from({ length: 46 }, (_, i) => i + 1));
      assert.ok([0, 1, 2].includes(r.label), `label ${r.label}`);
      assert.match(r.comment ?? '', /^docid = GX\S+ inc = \S+ prob = \S+$/);
    }
    const groups = qidGroupOffsets(rows.map((r) => r.qid!));
    assert.equal(groups[0], 0);
    assert.equal(groups[groups.length - 1], 300);
    for (let g = 0; g + 1 < groups.length; g++) {
      const q = rows[groups[g]!]!.qid;
      for (let i = groups[g]!; i < groups[g + 1]!; i++) assert.equal(rows[i]!.qid, q);
      if (g + 2 < groups.length) assert.notEqual(rows[groups[g + 1]!]!.qid, q);
    }
    assert.ok(groups.length >= 3, 'several queries in the slice');
    assert.ok(rows.some((r) => r.label === 2) && rows.some((r) => r.label === 1));
  });

  it('train (LF, no comments): whole file matches SOURCE.md counts', { skip: skipWithoutSharedData(TRAIN) }, async () => {
    const r = await openSvmlight(join(sharedDataDir(), TRAIN));
    const counts = [0, 0, 0];
    const qids: number[] = [];
    for await (const row of r) {
      counts[row.label]!++;
      qids.push(row.qid!);
      assert.equal(row.comment, undefined);
    }
    assert.deepEqual(counts, [7820, 1223, 587]);
    const groups = qidGroupOffsets(qids);
    assert.equal(groups.length - 1, 471, 'queries');
    let minDocs = Infinity, maxDocs = 0;
    for (let g = 0; g + 1 < groups.length; g++) {
      const d = groups[g + 1]! - groups[g]!;
      minDocs = Math.min(minDocs, d);
      maxDocs = Math.max(maxDocs, d);
    }
    assert.deepEqual([minDocs, maxDocs], [5, 121]);
    assert.equal(r.stats.rows, 9630);
  });

  it('qidGroupOffsets rejects a query that comes back', () => {
    assert.deepEqual(Array.from(qidGroupOffsets([1, 1, 2, 3, 3])), [0, 2, 3, 5]);
    assert.deepEqual(Array.from(qidGroupOffsets([])), [0]);
    assert.throws(() => qidGroupOffsets([1, 2, 1]), /qid 1 at row 2 is not contiguous/);
  });
});
