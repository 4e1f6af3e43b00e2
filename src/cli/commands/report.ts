/** `ctrkit report RUN_DIR`: (re)build a training run's report.html / report.json from its log and report data. */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { rebuildRunReport, RunReportInputError, writeRunReport } from '../../report/runReport.js';
import { CliError } from '../errors.js';

export function reportCommand(): Command {
  return new Command('report')
    .description("rebuild a training run's report.html (and report.json) from its log.jsonl and report data")
    .argument('<run-dir>', 'output directory of ctrkit train (holds log.jsonl)')
    .addHelpText('after', '\nCurves come from <run-dir>/log.jsonl as it is now; metrics, reliability diagrams and slices from\n<run-dir>/report.json (without it, the metrics the log ends with). Prints {"report": path}.')
    .action(async (dir: string) => {
      const runDir = resolve(dir);
      let file: string;
      try {
        file = await writeRunReport(runDir, rebuildRunReport(runDir));
      } catch (e) {
        if (e instanceof RunReportInputError) throw new CliError(e.message);
        throw e;
      }
      process.stdout.write(`${JSON.stringify({ report: file })}\n`);
    });
}
