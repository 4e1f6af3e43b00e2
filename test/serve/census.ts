/**
 * Shared by the serve tests: a prefix of the bundled census-income file, short trainings on it,
 * its lines as predict-request rows, and `ctrkit predict` run on it as the offline reference.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining } from '../../src/experiment/trainRun.js';
import { packageRoot } from '../helpers/sharedData.js';

export const root = packageRoot();
export const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const census = join(root, 'data', 'census_income_kdd', 'census-income.test.gz');

/** The first `n` lines of the census file, gzipped into `dir`; returns the file and its lines. */
export function censusPrefix(dir: string, n: number): { file: string; lines: string[] } {
  const lines = gunzipSync(readFileSync(census)).toString('utf8').split('\n').slice(0, n);
  const file = join(dir, `census-${n}.csv.gz`);
  writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
  return { file, lines };
}

/** The census example's column names (the file has no header). */
export function censusColumns(): string[] {
  const m = /columns: \[([^\]]*)\]/.exec(readFileSync(join(root, 'examples', 'census-income.yaml'), 'utf8'));
  return m![1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Trains the census example on `file` with the given model / train sections (and `edit` applied to
 * the config's text, e.g. other fields); returns the model directory.
 */
export async function trainCensus(dir: string, file: string, model: string, train: string, edit: (yaml: string) => string = (y) => y): Promise<string> {
  const text = edit(readFileSync(join(root, 'examples', 'census-income.yaml'), 'utf8'))
    .replace(/^model:.*$/m, `model: ${model}`)
    .replace(/^train:.*$/m, `train: ${train}`)
    .replace(/^output:.*$/m, `output: ${join(dir, 'out')}`)
    .replace(/path: data\/census_income_kdd\/census-income\.test\.gz/, `path: ${file}`);
  mkdirSync(dir, { recursive: true });
  const cfgFile = join(dir, 'exp.yaml');
  writeFileSync(cfgFile, text);
  const run = await runTraining(await loadExperimentConfig(cfgFile, root), { quiet: true });
  return run.modelDir;
}

/** A file line as a request row: the named fields' values as the (trimmed) CSV text. */
export function requestRow(line: string, columns: readonly string[], fields: readonly string[]): Record<string, string> {
  const cells = line.split(',').map((c) => c.trim());
  const row: Record<string, string> = {};
  for (const f of fields) row[f] = cells[columns.indexOf(f)]!;
  return row;
}

/** `ctrkit predict` on `file`: the score column (or another, e.g. score_<task>) as written. */
export function predictScores(modelDir: string, file: string, column = 'score', flags: readonly string[] = []): string[] {
  const p = spawnSync('node', [cli, 'predict', '-m', modelDir, '-i', file, ...flags], { encoding: 'utf8', timeout: 120_000 });
  if (p.status !== 0) throw new Error(`ctrkit predict failed: ${p.stderr}`);
  const lines = p.stdout.trim().split('\n');
  const at = lines[0]!.split(',').indexOf(column);
  if (at < 0) throw new Error(`no ${column} column in the header ${lines[0]}`);
  return lines.slice(1).map((l) => l.split(',')[at]!);
}

export const SHORT_TRAIN = '{ epochs: 1, batchSize: 256, seed: 1, optimizer: { type: adam, lr: 0.01 }, validationMetric: auc }';
