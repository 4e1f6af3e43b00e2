/** `ctrkit train CONFIG`: train, evaluate and save a model as the config describes. */
import { Command, Option } from 'commander';
import { loadExperimentConfig } from '../../experiment/config.js';
import { runTraining } from '../../experiment/trainRun.js';
import { runOnlineTraining } from '../../experiment/onlineRun.js';
import { asUserErrors, loadingConfig } from '../userErrors.js';
import { CliError } from '../errors.js';

interface TrainOptions {
  resume?: boolean;
  forceResume?: boolean;
  quiet?: boolean;
  onBadLine?: 'error' | 'skip';
  seed?: string;
  output?: string;
}

/**
 * A metric record with `<task>.<metric>` keys as { <task>: { <metric>: v } } (so that
 * `test.<task>.auc` reads as a path); other keys (the combined validation metric) stay on top.
 */
function byTask(metrics: Record<string, number | null>, tasks: readonly { name: string }[]): Record<string, unknown> {
  if (tasks.length < 2) return metrics;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metrics)) {
    const task = tasks.find((t) => k.startsWith(`${t.name}.`));
    if (task === undefined) out[k] = v;
    else ((out[task.name] ??= {}) as Record<string, number | null>)[k.slice(task.name.length + 1)] = v;
  }
  return out;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train a model from an experiment config (YAML/JSON: data, model, train, output) and save it')
    .argument('<config>', 'experiment config file, e.g. examples/census-income.yaml')
    .option('--resume', 'continue from the last checkpoint in the output directory (refused if the config changed)')
    .option('--force-resume', 'resume even though the config differs from the one the checkpoint was written with')
    .option('-q, --quiet', 'no progress output (the summary JSON is still printed)')
    .addOption(new Option('--on-bad-line <policy>', 'malformed input lines: error (default) or skip and count').choices(['error', 'skip']))
    .option('--seed <n>', "override the config's train.seed")
    .option('-o, --output <dir>', "override the config's output directory")
    .addHelpText('after', '\nWrites <output>/model (manifest.json + model.safetensors), <output>/log.jsonl, <output>/checkpoints\nand <output>/report.html (learning curves, metrics, reliability, calibration by slice; data: report.json);\nprints one JSON object: output, model, log, checkpoints, report (paths), backend (native or reference)\nand threads, epochs, best_epoch, rows, the validation and test metrics. Ctrl-C saves a checkpoint;\n--resume continues. With train.online the input is read as a stream (scored, then trained on, batch by batch;\nVW-style progress at doubling row counts on stderr) and the JSON has the progressive metrics instead; --resume\ncontinues after the last row the checkpoint covers. A checkpoint records its config: --resume names every changed key (old → new)\nand stops, except for train.threads, logEvery, checkpointEvery, calibration, more train.epochs,\ndata.cache, workers, onBadLine.')
    .action(async (config: string, o: TrainOptions) => {
      const seed = o.seed === undefined ? undefined : Number(o.seed);
      if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) throw new CliError(`--seed must be a non-negative integer, got '${o.seed}'`);
      const cfg = await loadingConfig(() => loadExperimentConfig(config));
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      // A stream trainer runs as a service: a stop request ends it as Ctrl-C does (checkpoint, model).
      if (cfg.train.online !== undefined) process.once('SIGTERM', onSigint);
      const runOpts = { resume: o.resume, forceResume: o.forceResume, quiet: o.quiet, onBadLine: o.onBadLine, seed, output: o.output, signal: abort.signal };
      try {
        if (cfg.train.online !== undefined) {
          const r = await asUserErrors(() => runOnlineTraining(cfg, runOpts));
          const { slices, ...progressive } = r.progressive;
          process.stdout.write(`${JSON.stringify({
            output: r.output, model: r.modelDir, log: r.logFile, checkpoints: r.checkpointsDir, backend: r.backend.name, threads: r.backend.threads,
            online: true, input: r.input, rows: r.rows, trained_rows: r.trainedRows, batches: r.batches, position: r.position, position_kind: r.positionKind, ...(r.positionLines > 0 && { position_lines: r.positionLines }), resumed_after: r.resumedAfter, interrupted: r.interrupted, reading: r.reading,
            skipped_lines: r.skippedLines, progressive, ...(slices.length > 0 && { slices }), ...(r.vocab && { vocab: r.vocab }),
            report: r.report, rows_per_s: Math.round(r.rowsPerSecond), seconds: Math.round(r.seconds * 100) / 100,
          })}\n`);
          return;
        }
        const r = await asUserErrors(() => runTraining(cfg, runOpts));
        // The files first (the per-run report's path belongs beside log and checkpoints), then how it ran.
        const summary = {
          output: r.output, model: r.modelDir, log: r.logFile, checkpoints: r.checkpointsDir,
          backend: r.backend.name, threads: r.backend.threads,
          epochs: r.train.epochsRun, best_epoch: r.train.best?.epoch ?? null,
          stopped_early: r.train.stoppedEarly, interrupted: r.train.interrupted, rows: r.rows,
          validation: byTask(r.validation, r.tasks), test: byTask(r.test, r.tasks), ...(r.testCalibrated && { test_calibrated: r.testCalibrated }),
          report: r.report,
          seconds: Math.round(r.seconds * 100) / 100,
        };
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        if (r.rows.skippedLines > 0) process.stderr.write(`ctrkit train: ${r.rows.skippedLines} malformed lines were skipped\n`);
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
