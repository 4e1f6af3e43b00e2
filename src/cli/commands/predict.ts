/** `ctrkit predict --model DIR --input FILE`: scores for every row of a file. */
import { createWriteStream } from 'node:fs';
import { Command, Option } from 'commander';
import { scoreFile } from '../../experiment/scoring.js';
import { groupKeys } from '../../experiment/evaluate.js';
import { asUserErrors } from '../userErrors.js';

interface PredictOptions {
  model: string;
  input: string;
  output?: string;
  labels: boolean;
  logits?: boolean;
  onBadLine?: 'error' | 'skip';
}

export function predictCommand(): Command {
  return new Command('predict')
    .description('score a file with a saved model (same format as its training data)')
    .requiredOption('-m, --model <dir>', 'model directory written by ctrkit train')
    .requiredOption('-i, --input <file>', 'data file to score')
    .option('-o, --output <file>', 'CSV to write (default: standard output)')
    .option('--no-labels', 'the file has no label column(s)')
    .option('--logits', 'also write the raw logit')
    .addOption(new Option('--on-bad-line <policy>', 'malformed lines: error (default) or skip').choices(['error', 'skip']))
    .addHelpText('after', '\nWrites a CSV with header: score (the calibrated probability when the model has a calibration),\nlabel (when the file has labels), group (when the schema has a group column), logit (with --logits).\nIt is the input `ctrkit metrics` reads.')
    .action(async (o: PredictOptions) => {
      const s = await asUserErrors(() => scoreFile(o.model, o.input, { labels: o.labels, onBadLine: o.onBadLine }));
      const ds = s.dataset;
      const y = o.labels ? ds.labels[0] : undefined;
      const groups = groupKeys(ds, { start: 0, end: ds.numRows });
      const out = o.output ? createWriteStream(o.output) : process.stdout;
      const cols = ['score', ...(y ? ['label'] : []), ...(groups ? ['group'] : []), ...(o.logits ? ['logit'] : [])];
      const lines: string[] = [cols.join(',')];
      for (let i = 0; i < ds.numRows; i++) {
        // 9 significant digits round-trip a float32 logit; probabilities keep full float64 precision.
        const row = [String(s.probs[i])];
        if (y) row.push(String(y[i]));
        if (groups) row.push(String(groups[i]));
        if (o.logits) row.push(s.logits[i]!.toPrecision(9));
        lines.push(row.join(','));
        if (lines.length >= 8192) {
          out.write(lines.join('\n') + '\n');
          lines.length = 0;
        }
      }
      out.write(lines.length ? lines.join('\n') + '\n' : '');
      if (o.output) await new Promise<void>((res, rej) => (out as NodeJS.WritableStream).end((e?: Error | null) => (e ? rej(e) : res())));
      if (s.skippedLines > 0) process.stderr.write(`ctrkit predict: ${s.skippedLines} malformed lines were skipped\n`);
    });
}
