/** `ctrkit predict --model DIR --input FILE`: scores for every row of a file. */
import { Command, Option } from 'commander';
import { scoreFile, type ScoredFile } from '../../experiment/scoring.js';
import { groupKeys } from '../../experiment/evaluate.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { asUserErrors, checkInputFile, checkOutputFile, fsErrorMessage } from '../userErrors.js';
import { CliError } from '../errors.js';
import { headerNote } from './scoringNotes.js';
import { precisionNote, PRECISIONS, type Precision } from '../../nn/quantize.js';

interface PredictOptions {
  model: string;
  input: string;
  output?: string;
  labels: boolean;
  header: boolean;
  logits?: boolean;
  onBadLine?: 'error' | 'skip';
  precision: Precision;
}

/** A CSV value: group ids are the file's own text and may hold the delimiter or quotes. */
function csvValue(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** The output CSV in chunks of 8192 rows (one string per chunk). */
function predictionChunks(s: ScoredFile, withLabels: boolean, logits: boolean): { columns: string[]; chunks: string[] } {
  const ds = s.dataset;
  // Several tasks: score_<task> (and label_<task>, logit_<task>) per task, in the manifest's order.
  const tasks = s.tasks.length > 1 ? s.tasks : [{ ...s.tasks[0]!, probs: s.probs, logits: s.logits }];
  const suffix = (t: { name: string }): string => (s.tasks.length > 1 ? `_${t.name}` : '');
  const labelCols = withLabels ? tasks.map((t) => ds.labels[t.label]!) : [];
  const groupIndex = groupKeys(ds, { start: 0, end: ds.numRows });
  const groups = groupIndex && s.groupIds!.map(csvValue);
  const lines = s.lines!;
  const columns = [
    'line', ...tasks.map((t) => `score${suffix(t)}`), ...(withLabels ? tasks.map((t) => `label${suffix(t)}`) : []),
    ...(groups ? ['group'] : []), ...(logits ? tasks.map((t) => `logit${suffix(t)}`) : []),
  ];
  const chunks: string[] = [];
  let rows: string[] = [columns.join(',')];
  for (let i = 0; i < ds.numRows; i++) {
    // 9 significant digits round-trip a float32 logit; probabilities keep full float64 precision.
    const row = [String(lines[i])];
    for (const t of tasks) row.push(String(t.probs[i]));
    for (const y of labelCols) row.push(String(y[i]));
    if (groups) row.push(groups[groupIndex![i]!]!);
    if (logits) for (const t of tasks) row.push(t.logits[i]!.toPrecision(9));
    rows.push(row.join(','));
    if (rows.length >= 8192) {
      chunks.push(`${rows.join('\n')}\n`);
      rows = [];
    }
  }
  if (rows.length > 0) chunks.push(`${rows.join('\n')}\n`);
  return { columns, chunks };
}

export function predictCommand(): Command {
  return new Command('predict')
    .description('score a file with a saved model (same format as its training data)')
    .requiredOption('-m, --model <dir>', 'model directory written by ctrkit train')
    .requiredOption('-i, --input <file>', 'data file to score')
    .option('-o, --output <file>', 'CSV to write (default: standard output)')
    .option('--no-labels', 'the file has no label column(s)')
    .option('--no-header', "CSV: the file has no header line; its columns are the training file's (default: detected)")
    .option('--logits', 'also write the raw logit')
    .addOption(new Option('--on-bad-line <policy>', 'malformed lines: error (default) or skip').choices(['error', 'skip']))
    .addOption(new Option('--precision <p>', 'dense-layer precision: fp32, or int8 / bf16 (DNN / DCN-v2; docs/config.md)').choices(PRECISIONS).default('fp32'))
    .addHelpText('after', `
Writes a CSV with header: line (the input line of the row, so that output lines up with input
when bad lines are skipped), score (the calibrated probability when the model has a calibration),
label (when the file has labels), group (the row's value of the schema's group column, when it
has one), logit (with --logits). A multi-task model writes score_<task> (label_<task>,
logit_<task>) for each of its tasks instead, every row scored by every task. It is the input \`ctrkit metrics\` reads. The output file is
written atomically; stderr says how many rows went where.

A CSV model scores a file without a header line (a later slice of its log) when the first line
is not a header naming the schema's columns and has as many values as the training file's header;
--no-header forces that reading.`)
    .action(async (o: PredictOptions) => {
      checkInputFile(o.input);
      if (o.output !== undefined) checkOutputFile(o.output);
      const s = await asUserErrors(() => scoreFile(o.model, o.input, {
        labels: o.labels, onBadLine: o.onBadLine, header: o.header ? undefined : false, rowIds: true, precision: o.precision,
      }));
      const note = headerNote('predict', o.input, s);
      if (note) process.stderr.write(note);
      if (o.precision !== 'fp32') process.stderr.write(`ctrkit predict: ${precisionNote(s.precision)}\n`);
      const { columns, chunks } = predictionChunks(s, o.labels, o.logits === true);
      if (o.output !== undefined) {
        try {
          writeFileAtomic(o.output, chunks.map((c) => Buffer.from(c, 'utf8')));
        } catch (e) {
          throw new CliError(fsErrorMessage(e, o.output, 'cannot write: ') ?? `${o.output}: cannot write (${(e as Error).message})`);
        }
      } else {
        for (const c of chunks) process.stdout.write(c);
      }
      const skipped = s.skippedLines > 0 ? `; ${s.skippedLines} malformed line${s.skippedLines === 1 ? '' : 's'} skipped (see the line column)` : '';
      process.stderr.write(`ctrkit predict: wrote ${s.dataset.numRows} rows (${columns.join(', ')}) to ${o.output ?? 'standard output'}${skipped}\n`);
    });
}
