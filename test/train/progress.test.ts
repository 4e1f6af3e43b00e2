import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { BarProgress, LineProgress, SilentProgress, createProgress } from '../../src/train/progress.js';

/** Collects what a reporter writes; `tty` makes it look like a terminal to cli-progress. */
function sink(tty: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream: PassThrough & { isTTY?: boolean; columns?: number } = new PassThrough();
  stream.isTTY = tty;
  stream.columns = 120;
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, text: () => chunks.join('') };
}

const end = { epoch: 1, epochs: 3, loss: 0.4321, rows: 1000, seconds: 2, metrics: { auc: 0.75 } };

describe('progress reporters', () => {
  it('createProgress: quiet → silent, TTY → bar, otherwise one line per epoch', () => {
    assert.ok(createProgress({ quiet: true, stream: sink(true).stream }) instanceof SilentProgress);
    assert.ok(createProgress({ stream: sink(true).stream }) instanceof BarProgress);
    assert.ok(createProgress({ stream: sink(false).stream }) instanceof LineProgress);
  });

  it('LineProgress prints one plain line per epoch with rows/s, loss and metrics', async () => {
    const s = sink(false);
    const p = new LineProgress(s.stream);
    p.startEpoch({ epoch: 1, epochs: 3, totalRows: 1000, rowsDone: 0 });
    p.update({ rowsDone: 500, loss: 0.5, rowsPerSec: 100 });
    p.endEpoch(end);
    p.stop();
    await new Promise((r) => setImmediate(r));
    assert.equal(s.text(), 'epoch 1/3: 1000 rows in 2.0s (500 rows/s), loss 0.43210 auc 0.75000\n');
  });

  it('BarProgress draws epoch, rows, rows/s, loss and ETA on a terminal', async () => {
    const s = sink(true);
    const p = new BarProgress(s.stream);
    p.startEpoch({ epoch: 2, epochs: 3, totalRows: 1000, rowsDone: 250 });
    p.update({ rowsDone: 600, loss: 0.25, rowsPerSec: 12345 });
    p.endEpoch({ ...end, epoch: 2 });
    p.stop();
    p.stop();
    await new Promise((r) => setImmediate(r));
    const out = s.text();
    assert.match(out, /epoch 2\/3 \|/);
    assert.match(out, /600\/1000 rows \| 12\.3k rows\/s \| loss 0\.25000 \| ETA/);
    assert.match(out, /epoch 2\/3: auc 0\.75000\n/);
  });

  it('SilentProgress writes nothing', () => {
    const p = new SilentProgress();
    p.startEpoch({ epoch: 1, epochs: 1, totalRows: 1, rowsDone: 0 });
    p.update({ rowsDone: 1, loss: 0, rowsPerSec: 1 });
    p.endEpoch(end);
    p.stop();
  });
});
