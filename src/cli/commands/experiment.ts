/** `ctrkit experiment CONFIG`: run a grid of experiment configs × seeds and write the report. */
import { join } from 'node:path';
import { Command } from 'commander';
import { loadGridConfig } from '../../experiment/grid.js';
import { runExperiment } from '../../experiment/runner.js';
import { buildReport, writeReport } from '../../experiment/report.js';
import { asUserErrors, loadingConfig } from '../userErrors.js';
import { CliError } from '../errors.js';

interface ExperimentOptions {
  parallel?: string;
  quiet?: boolean;
}

export function experimentCommand(): Command {
  return new Command('experiment')
    .description('run a grid of training runs (base config × dotted overrides × seeds) and report mean ± 95 % CI per cell')
    .argument('<config>', 'experiment grid file (YAML/JSON: base, set, grid, seeds, output, parallel, metrics, after), e.g. experiments/kdd24-criteo.yaml')
    .option('-p, --parallel <n>', "runs at once, each in its own process (overrides the file's parallel)")
    .option('-q, --quiet', 'no progress lines')
    .addHelpText('after', '\nRuns the grids named in `after` first. Writes <output>/runs/<cell>/seed<k>.json per finished run (a re-run skips those), then\n<output>/report.md, <output>/report.html and <output>/charts/. Ctrl-C stops; re-run to continue.')
    .action(async (config: string, o: ExperimentOptions) => {
      const parallel = o.parallel === undefined ? undefined : Number(o.parallel);
      if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1)) throw new CliError(`--parallel must be a positive integer, got '${o.parallel}'`);
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        await runGridFile(config, [], { parallel, signal: abort.signal, quiet: o.quiet === true });
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}

/**
 * Runs a grid file after the grids of its `after` list (each once per invocation, finished runs
 * skipped as usual), writes its report and prints its JSON line. `chain` holds the files that wait
 * on this one, to refuse a cycle.
 */
async function runGridFile(config: string, chain: readonly string[], o: { parallel?: number; signal: AbortSignal; quiet: boolean }, done = new Set<string>()): Promise<void> {
  const grid = await loadingConfig(() => loadGridConfig(config));
  if (chain.includes(grid.file)) throw new CliError(`${chain.at(-1)}: after: ${config} runs after itself (${[...chain, grid.file].join(' -> ')})`);
  if (done.has(grid.file)) return;
  for (const a of grid.after) await runGridFile(a, [...chain, grid.file], o, done);
  done.add(grid.file);
  const r = await asUserErrors(() => runExperiment(grid, { parallel: o.parallel, signal: o.signal, progress: o.quiet ? null : undefined }));
  writeReport(grid.output, await buildReport(grid, r.cells, r.summaries));
  const out = {
    output: grid.output, report: join(grid.output, 'report.html'), cells: r.cells.length, seeds: grid.seeds.length,
    ran: r.ran, skipped: r.skipped, failed: r.failed, interrupted: r.interrupted,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  if (r.interrupted) throw new CliError('interrupted: finished runs are kept; run the same command again to continue', 130);
  if (r.failed.length > 0) throw new CliError(`${r.failed.length} run(s) failed (first: ${r.failed[0]!.cell} seed ${r.failed[0]!.seed}: ${r.failed[0]!.message.split('\n')[0]})`);
}
