/**
 * What an experiment records of a run's cost (dense weights, train rows/s, load) and the
 * report's Cost section, from hand-made logs and summaries.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainRowsPerSec, type RunCost, type RunSummary } from '../../src/experiment/runSummary.js';
import { buildReport } from '../../src/experiment/report.js';
import type { GridCell, GridConfig } from '../../src/experiment/grid.js';

const epoch = (e: number, rows: number, rowsPerSec: number, seconds: number): string =>
  JSON.stringify({ event: 'epoch', epoch: e, step: 10, globalStep: 10 * e, loss: 0.5, rows, rows_per_s: rowsPerSec, seconds });

describe('run cost', () => {
  it('train rows/s: timed rows over training seconds, a resumed epoch counted from its last record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-cost-'));
    try {
      const log = join(dir, 'log.jsonl');
      // Epoch 1: 1000 rows in 2 s. Epoch 2 was interrupted and resumed: its last record counts
      // all 1000 rows of the epoch but timed only the 400 after the resume, in 0.5 s.
      writeFileSync(log, [epoch(1, 1000, 500, 2), epoch(2, 1000, 300, 1), epoch(2, 1000, 800, 0.5)].join('\n') + '\n');
      assert.equal(trainRowsPerSec(log), (1000 + 400) / (2 + 0.5));
      assert.equal(trainRowsPerSec(join(dir, 'absent.jsonl')), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const cells: GridCell[] = [{ name: 'full', overrides: [] }, { name: 'low', overrides: [] }];
  const grid = { file: '/x/grid.yaml', base: '/x/base.yaml', seeds: [1, 2], metrics: ['auc'], axes: [] } as unknown as GridConfig;
  const summary = (cell: string, seed: number, auc: number, cost?: RunCost): RunSummary => ({
    cell, seed, hash: 'h', overrides: [], validation: {}, test: { auc }, epochs: 1, bestEpoch: 1,
    rows: { fit: 1, validation: 1, test: 1 }, seconds: 1, reliability: null, probes: null, ...(cost && { cost }),
  });
  const cost = (denseParams: number, rate: number, load: number): RunCost => ({ denseParams, trainRowsPerSec: rate, loadAvg1m: load, cpu: 'CPU X × 2', threads: 1 });

  it('the report gives dense weights, rows/s (mean ± 95 % CI) and the load range per cell, relative to the baseline', async () => {
    const r = await buildReport(grid, cells, [
      summary('full', 1, 0.7, cost(1000, 100, 3)), summary('full', 2, 0.71, cost(1000, 300, 5)),
      summary('low', 1, 0.7, cost(250, 500, 4)), summary('low', 2, 0.7, cost(250, 500, 2.5)),
    ]);
    // t(0.975, 1) = 12.706; sd of (100, 300) = 141.42 → half-width 12.706 · 141.42 / √2 = 1270.6.
    assert.match(r.markdown, /## Cost\n\n.*\nMachine: CPU X × 2, 1 thread per run\.\n/);
    assert.match(r.markdown, /\| full \| 1,000 \(1\.00×\) \| 200 ± 1271 \(1\.00×\) \| 3\.00–5\.00 \|/);
    assert.match(r.markdown, /\| low \| 250 \(0\.25×\) \| 500 ± 0 \(2\.50×\) \| 2\.50–4\.00 \|/);
    assert.match(r.html, /<h2>Cost<\/h2>/);
  });

  it('summaries without costs (written before they were recorded) give no Cost section', async () => {
    const r = await buildReport(grid, cells, [summary('full', 1, 0.7), summary('low', 1, 0.7)]);
    assert.doesNotMatch(r.markdown, /## Cost/);
    assert.doesNotMatch(r.html, /<h2>Cost/);
  });
});
