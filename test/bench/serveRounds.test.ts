/**
 * `npm run bench -- serve --rounds N` (bench/serve.ts): the summary of a figure measured N times
 * with the scorers interleaved — medians, ranges, and ctrkit ÷ onnxruntime paired within rounds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { idlePercent, machineCpuMs, roundSummaries } from '../../bench/serve.js';

describe('bench serve: round summaries', () => {
  it('gives each scorer its median and range, and a ctrkit scorer its ratio to the onnxruntime scorer of its precision, round by round', () => {
    const rows = roundSummaries(new Map([
      ['ctrkit', [300, 450, 400, 600]],
      ['onnxruntime', [200, 300, 400, 300]],
      ['ctrkit-int8', [900, 1000, 800, 700]],
      ['onnxruntime-int8', [600, 1000, 400, 500]],
    ]));
    assert.deepEqual(rows[0], {
      scorer: 'ctrkit', rounds: 4, requests_per_s_median: 425, requests_per_s_range: '300–600',
      // Rounds: 1.5, 1.5, 1.0, 2.0 — paired by round, not medians divided (425 / 300 = 1.42).
      vs: 'onnxruntime', ratio_median: 1.5, ratio_range: '1.00–2.00', rounds_at_least_1_5: 3,
    });
    assert.deepEqual(rows[1], { scorer: 'onnxruntime', rounds: 4, requests_per_s_median: 300, requests_per_s_range: '200–400' });
    // 1.5, 1.0, 2.0, 1.4: median 1.45.
    assert.equal(rows[2]!.vs, 'onnxruntime-int8');
    assert.equal(rows[2]!.ratio_median, 1.45);
    assert.equal(rows[2]!.rounds_at_least_1_5, 2);
  });

  it('compares bf16 scoring with onnxruntime fp32, which has no bf16', () => {
    const [bf16] = roundSummaries(new Map([['ctrkit-bf16', [700, 720]], ['onnxruntime', [350, 400]], ['onnxruntime-int8', [1, 1]]]));
    assert.equal(bf16!.vs, 'onnxruntime');
    assert.equal(bf16!.ratio_range, '1.80–2.00');
  });

  it('leaves the ratio out when the counterpart did not run', () => {
    const [row] = roundSummaries(new Map([['ctrkit-loop', [100, 120, 110]]]));
    assert.deepEqual(row, { scorer: 'ctrkit-loop', rounds: 3, requests_per_s_median: 110, requests_per_s_range: '100–120' });
  });

  it('reads the machine\'s busy and idle CPU time from /proc/stat (idle and iowait are not busy)', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ ticks (10 ms).
    const a = machineCpuMs('cpu  100 5 50 800 20 0 10 15 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n');
    assert.deepEqual(a, { busy: 1800, total: 10000 });
    const b = machineCpuMs('cpu  250 5 100 900 20 0 10 15 0 0\n');
    // 200 ticks busy of 300: 33 % idle.
    assert.equal(idlePercent(a, b), 33);
    assert.throws(() => machineCpuMs('intr 1 2 3'), /unexpected first line 'intr 1 2 3'/);
    if (process.platform === 'linux') {
      const now = machineCpuMs(readFileSync('/proc/stat', 'utf8'));
      assert.ok(now.busy > 0 && now.busy < now.total);
    }
  });
});
