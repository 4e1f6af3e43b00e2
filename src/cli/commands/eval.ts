/** `ctrkit eval --model DIR --input FILE`: metrics of a saved model on a labelled file. */
import { Command, Option } from 'commander';
import { scoreFile } from '../../experiment/scoring.js';
import { metricsFor } from '../../experiment/evaluate.js';
import { asUserErrors } from '../userErrors.js';

interface EvalOptions {
  model: string;
  input: string;
  onBadLine?: 'error' | 'skip';
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('evaluate a saved model on a labelled file (same format as its training data)')
    .requiredOption('-m, --model <dir>', 'model directory written by ctrkit train')
    .requiredOption('-i, --input <file>', 'labelled data file')
    .addOption(new Option('--on-bad-line <policy>', 'malformed lines: error (default) or skip').choices(['error', 'skip']))
    .addHelpText('after', '\nPrints one JSON object: rows, calibrated, sampling_corrected (data.sampling undone, see docs/config.md), auc, logloss, ece, ece_freq and, with groups, gauc, ece_list, ndcg@10.\nRows are weighted as training weighted its metrics (sample weights, positives by train.loss.betaPos, as recorded in the manifest).')
    .action(async (o: EvalOptions) => {
      const s = await asUserErrors(() => scoreFile(o.model, o.input, { labels: true, onBadLine: o.onBadLine }));
      const rows = { start: 0, end: s.dataset.numRows };
      const out = { rows: s.dataset.numRows, calibrated: s.calibrated, sampling_corrected: s.samplingCorrected, ...metricsFor(s.probs, s.dataset, rows, s.manifest.evaluation), skipped_lines: s.skippedLines };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    });
}
