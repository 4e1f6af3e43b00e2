#!/usr/bin/env node
/**
 * The `ctrkit` command. Each subcommand lives in its own module under ./commands/ and exports a
 * factory returning a configured commander Command; adding one is that module plus one line in
 * SUBCOMMANDS. Errors meant for the user (CliError) print as one line without a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { dataCommand } from './commands/dataInspect.js';
import { metricsCommand } from './commands/metrics.js';
import { trainCommand } from './commands/train.js';
import { evalCommand } from './commands/eval.js';
import { predictCommand } from './commands/predict.js';
import { experimentCommand } from './commands/experiment.js';
import { serveCommand } from './commands/serve.js';
import { exportCommand } from './commands/export.js';
import { reportCommand } from './commands/report.js';
import { CliError } from './errors.js';

const SUBCOMMANDS: readonly (() => Command)[] = [
  trainCommand,
  evalCommand,
  predictCommand,
  serveCommand,
  exportCommand,
  experimentCommand,
  reportCommand,
  metricsCommand,
  dataCommand,
];

function packageVersion(): string {
  // dist/src/cli/main.js → package.json three levels up; read at runtime so the version has one source.
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('ctrkit')
    .description('Train, calibrate, evaluate and serve CTR models')
    .version(packageVersion())
    .showHelpAfterError('(add --help for usage)');
  // addCommand() does not copy the parent's settings, so the usage hint is applied to each subcommand.
  for (const make of SUBCOMMANDS) program.addCommand(make().showHelpAfterError('(add --help for usage)'));
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`ctrkit: ${err.message}\n`);
      return err.exitCode;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ctrkit: internal error: ${msg.split('\n')[0]}${process.env.CTRKIT_DEBUG ? '' : ' (set CTRKIT_DEBUG=1 for a stack trace)'}\n`);
    if (process.env.CTRKIT_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 70; // EX_SOFTWARE: distinguishes our bugs from bad input (1) in scripts
  }
}

process.exitCode = await main(process.argv);
