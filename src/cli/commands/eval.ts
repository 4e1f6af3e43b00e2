/** `ctrkit eval --model DIR --input FILE`: metrics of a saved model on a labelled file. */
import { Command, Option } from 'commander';
import { scoreFile, type ScoredFile } from '../../experiment/scoring.js';
import { taskRows } from '../../experiment/tasks.js';
import { metricsFor } from '../../experiment/evaluate.js';
import { asUserErrors, checkInputFile } from '../userErrors.js';
import { headerNote, oovSummary } from './scoringNotes.js';
import { precisionNote, PRECISIONS, type Precision } from '../../nn/quantize.js';

interface EvalOptions {
  model: string;
  input: string;
  header: boolean;
  onBadLine?: 'error' | 'skip';
  precision: Precision;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** Each task's metrics on its rows (all, or where its `on` label is 1): nested by task name when there are several. */
function taskEvaluation(s: ScoredFile): Record<string, unknown> {
  const all = { start: 0, end: s.dataset.numRows };
  const per = s.tasks.map((t) => {
    const rows = taskRows(t, s.dataset, all);
    const p = rows instanceof Int32Array ? Float64Array.from(rows, (r) => t.probs[r]!) : t.probs;
    return [t.name, { rows: rows instanceof Int32Array ? rows.length : s.dataset.numRows, ...metricsFor(p, s.dataset, rows, { label: t.label }) }] as const;
  });
  return per.length === 1 ? per[0]![1] : Object.fromEntries(per);
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('evaluate a saved model on a labelled file (same format as its training data)')
    .requiredOption('-m, --model <dir>', 'model directory written by ctrkit train')
    .requiredOption('-i, --input <file>', 'labelled data file')
    .option('--no-header', "CSV: the file has no header line; its columns are the training file's (default: detected)")
    .addOption(new Option('--on-bad-line <policy>', 'malformed lines: error (default) or skip').choices(['error', 'skip']))
    .addOption(new Option('--precision <p>', 'dense-layer precision: fp32, or int8 / bf16 (DNN / DCN-v2; docs/config.md)').choices(PRECISIONS).default('fp32'))
    .addHelpText('after', `
Prints one JSON object: rows, calibrated, sampling_corrected (data.sampling undone, see docs/config.md),
auc, logloss, ece, ece_freq and, with groups, gauc, ece_list, ndcg@10; oov (mean and largest share of
rows whose token of a vocabulary field the model never saw, and that field: the drift check, per field
with \`ctrkit data inspect FILE -m DIR\`), also summarised on stderr. Rows are weighted as training
weighted its metrics (sample weights, positives by train.loss.betaPos, as recorded in the manifest).`)
    .action(async (o: EvalOptions) => {
      checkInputFile(o.input);
      const s = await asUserErrors(() => scoreFile(o.model, o.input, { labels: true, onBadLine: o.onBadLine, header: o.header ? undefined : false, precision: o.precision }));
      const note = headerNote('eval', o.input, s);
      if (note) process.stderr.write(note);
      if (o.precision !== 'fp32') process.stderr.write(`ctrkit eval: ${precisionNote(s.precision)}\n`);
      const rows = { start: 0, end: s.dataset.numRows };
      const oov = oovSummary(s);
      const metrics = s.tasks.length > 1 || s.manifest.tasks !== undefined
        ? taskEvaluation(s)
        : metricsFor(s.probs, s.dataset, rows, s.manifest.evaluation);
      const out = {
        rows: s.dataset.numRows, calibrated: s.calibrated, sampling_corrected: s.samplingCorrected,
        ...metrics, ...(oov && { oov }), skipped_lines: s.skippedLines, ...(o.precision !== 'fp32' && { precision: o.precision }),
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
      if (oov) {
        process.stderr.write(`ctrkit eval: tokens the model never saw (OOV): ${pct(oov.mean)} of rows on average over its vocabulary fields, ` +
          `at most ${pct(oov.max)} (${oov.max_field}); per field: ctrkit data inspect ${o.input} -m ${o.model}\n`);
      }
    });
}
