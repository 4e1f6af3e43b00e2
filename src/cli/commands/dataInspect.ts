/**
 * `ctrkit data inspect FILE`: reads every row of a data file with the same readers training uses,
 * and prints what the data looks like (rows, label rates, per-field cardinality and missing share).
 * The exit code says whether the file is valid, so it can gate a pipeline.
 *
 * The report is built from a ProfileSource (labeled raw rows plus names); each format only has to
 * say how to open one, which is also how a schema-defined dataset will plug in.
 */
import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { openDuckDbRows } from '../../data/duckdb/index.js';
import { formatProfile, profileRows, type ProfileSource } from '../../data/inspect/profile.js';
import { openCriteoParallel, openCsvParallel, openSvmlightParallel } from '../../data/parallel/index.js';
import type { RawValue } from '../../data/prep/field.js';
import { CRITEO_COLUMN_NAMES } from '../../data/readers/criteo.js';
import type { CsvColumnType } from '../../data/readers/csv.js';
import { DataFormatError, show } from '../../data/readers/errors.js';
import { openIpinyou, readFeatIndex } from '../../data/readers/ipinyou.js';
import { handleBadLine, parseNumber, type BadLinePolicy, type ReaderStats } from '../../data/readers/reader.js';
import { ConfigError, loadDataConfig, profileWithFitted, profileWithSchema, withSourcePath, type DataConfig, type SchemaProfile } from '../../schema/index.js';
import { ModelFileError, readManifest } from '../../io/modelFile.js';
import { readSavedSchema } from '../../experiment/savedSchema.js';
import { CliError } from '../errors.js';
import { checkInputFile, fsErrorMessage } from '../userErrors.js';

const FORMATS = ['criteo', 'csv', 'svmlight', 'ipinyou', 'parquet', 'json'] as const;
type Format = typeof FORMATS[number];

interface InspectOptions {
  format?: Format;
  featindex?: string;
  columns?: string;
  label?: string;
  labelValues?: string;
  numeric?: string;
  delimiter: string;
  header: boolean;
  onBadLine: BadLinePolicy;
  workers?: string;
  json?: boolean;
  schema?: string;
  model?: string;
}

/** The format a file name implies (after a .gz suffix), or undefined. */
export function formatFromName(file: string, featIndex: boolean): Format | undefined {
  if (featIndex) return 'ipinyou';
  const name = basename(file).toLowerCase().replace(/\.gz$/, '');
  const ext = name.slice(name.lastIndexOf('.') + 1);
  switch (ext) {
    case 'parquet': case 'pq': return 'parquet';
    case 'csv': return 'csv';
    case 'json': case 'jsonl': case 'ndjson': return 'json';
    case 'svm': case 'svmlight': case 'libsvm': return 'svmlight';
    // Criteo's DAC files are train.txt / test.txt (TAB-separated).
    case 'txt': case 'tsv': return 'criteo';
    default: return undefined;
  }
}

const list = (s: string | undefined): string[] | undefined =>
  s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);

function labelSet(opts: InspectOptions, fallback: number[] | undefined): Set<number> | undefined {
  const vals = list(opts.labelValues);
  if (vals === undefined) return fallback === undefined ? undefined : new Set(fallback);
  return new Set(vals.map((v) => {
    const n = parseNumber(v);
    if (Number.isNaN(n)) throw new CliError(`--label-values: ${JSON.stringify(v)} is not a number`);
    return n;
  }));
}

/** What an opened file gives the report: the rows, and the reader stats once they are read. */
interface Opened {
  source: ProfileSource;
  stats: () => Pick<ReaderStats, 'lines' | 'skipped' | 'skippedExamples'> | undefined;
}

async function openCsvSource(file: string, opts: InspectOptions, workers: number | undefined): Promise<Opened> {
  const types: Record<string, CsvColumnType> = {};
  for (const c of list(opts.numeric) ?? []) types[c] = 'number';
  const columns = list(opts.columns);
  const reader = await openCsvParallel(file, {
    header: opts.header, columns, delimiter: opts.delimiter, onBadLine: opts.onBadLine, types, workers,
  });
  if (opts.header) warnIfHeaderLooksLikeData(file, reader.columns);
  const labels = list(opts.label) ?? [];
  const labelCols = labels.map((l) => {
    const i = reader.columns.indexOf(l);
    if (i === -1) throw new DataFormatError(file, 1, l, `no label column ${show(l)} (columns: ${reader.columns.join(', ')})`);
    return i;
  });
  const allowed = labelSet(opts, [0, 1]);
  const inputCols = reader.columns.map((_, i) => i).filter((i) => !labelCols.includes(i));
  async function* rows(): AsyncGenerator<{ labels: number[]; values: string[] }> {
    for await (const rec of reader) {
      const ys = new Array<number>(labelCols.length);
      let bad: DataFormatError | undefined;
      for (let k = 0; k < labelCols.length && bad === undefined; k++) {
        const text = rec[labelCols[k]!]!;
        ys[k] = parseNumber(text);
        if (Number.isNaN(ys[k]!) || (allowed !== undefined && !allowed.has(ys[k]!))) {
          bad = new DataFormatError(file, reader.line, `${labels[k]} (column ${labelCols[k]! + 1})`,
            `label ${show(text)} is not one of ${[...allowed ?? []].join(', ')}`);
        }
      }
      if (bad !== undefined) {
        // Counted like a reader's bad line, so --on-bad-line applies to labels too.
        handleBadLine(bad, opts.onBadLine, reader.stats, 10);
        reader.stats.rows--;
        continue;
      }
      yield { labels: ys, values: inputCols.map((i) => rec[i]!) };
    }
  }
  return {
    source: { labelNames: labels, fieldNames: inputCols.map((i) => reader.columns[i]!), rows: rows() },
    stats: () => reader.stats,
  };
}

/**
 * A header is taken on trust otherwise, and a headerless file would silently lose its first row
 * to it: names that are numbers, empty or repeated are what a data row looks like.
 */
function warnIfHeaderLooksLikeData(file: string, names: readonly string[]): void {
  const numbers = names.filter((n) => n.trim() !== '' && !Number.isNaN(parseNumber(n.trim())));
  const empty = names.filter((n) => n.trim() === '').length;
  const repeated = names.length - new Set(names).size;
  if (numbers.length === 0 && empty === 0 && repeated === 0) return;
  const why = [
    numbers.length > 0 ? `${numbers.length} of its ${names.length} names are numbers (${numbers.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}${numbers.length > 3 ? ', …' : ''})` : '',
    empty > 0 ? `${empty} are empty` : '',
    repeated > 0 ? `${repeated} repeat` : '',
  ].filter((w) => w !== '').join(', ');
  process.stderr.write(`ctrkit data inspect: warning: ${file}:1: the header line looks like data: ${why}; ` +
    'it was read as the header (a headerless file: pass --no-header --columns a,b,..., or -m MODEL_DIR to use the model\'s columns)\n');
}

async function open(file: string, format: Format, opts: InspectOptions): Promise<Opened> {
  const workers = parseWorkers(opts);
  const base = { onBadLine: opts.onBadLine, workers };
  switch (format) {
    case 'criteo': {
      const r = await openCriteoParallel(file, base);
      async function* rows(): AsyncGenerator<{ labels: number[]; values: RawValue[] }> {
        for await (const row of r) yield { labels: [row.label], values: [...row.ints, ...row.cats] };
      }
      return { source: { labelNames: ['label'], fieldNames: CRITEO_COLUMN_NAMES.slice(1), rows: rows() }, stats: () => r.stats };
    }
    case 'csv':
      return openCsvSource(file, opts, workers);
    case 'svmlight': {
      const r = await openSvmlightParallel(file, base);
      const allowed = labelSet(opts, undefined);
      async function* rows(): AsyncGenerator<{ labels: number[]; values: RawValue[] }> {
        for await (const row of r) {
          if (allowed !== undefined && !allowed.has(row.label)) {
            handleBadLine(new DataFormatError(file, r.line, 'label', `label ${row.label} is not one of ${[...allowed].join(', ')}`),
              opts.onBadLine, r.stats, 10);
            r.stats.rows--;
            continue;
          }
          yield { labels: [row.label], values: [row.qid ?? Number.NaN, row.indices.length === 0 ? Number.NaN : row.indices.length] };
        }
      }
      return { source: { labelNames: ['label'], fieldNames: ['qid', 'features per row'], rows: rows() }, stats: () => r.stats };
    }
    case 'ipinyou': {
      if (opts.featindex === undefined) throw new CliError('--format ipinyou needs --featindex FILE');
      const index = await readFeatIndex(opts.featindex);
      const r = await openIpinyou(file, index, { onBadLine: opts.onBadLine });
      async function* rows(): AsyncGenerator<{ labels: number[]; values: RawValue[] }> {
        for await (const row of r) yield { labels: [row.label], values: row.idx };
      }
      return { source: { labelNames: ['label'], fieldNames: index.fields, rows: rows() }, stats: () => r.stats };
    }
    case 'parquet':
    case 'json': {
      if (opts.onBadLine === 'skip') throw new CliError(`--on-bad-line skip is for text formats; a ${format} file is read whole`);
      const labels = list(opts.label) ?? ['label'];
      const allowed = labelSet(opts, [0, 1])!;
      const r = await openDuckDbRows({ format, path: file }, { labels, fields: list(opts.columns), labelValues: [...allowed] });
      async function* rows(): AsyncGenerator<{ labels: number[]; values: RawValue[] }> {
        for await (const row of r) yield { labels: row.labels, values: row.values };
      }
      return { source: { labelNames: r.labelNames, fieldNames: r.fields, rows: rows() }, stats: () => undefined };
    }
  }
}

function userError(file: string, err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof DataFormatError) return new CliError(err.message);
  const fs = fsErrorMessage(err, file);
  if (fs !== undefined) return new CliError(fs);
  // DuckDB reports unreadable or malformed Parquet/JSON as plain errors already prefixed with the file.
  if (err instanceof Error && err.message.startsWith(`${file}:`)) return new CliError(err.message.split('\n')[0]!);
  return err;
}

function parseWorkers(opts: InspectOptions): number | undefined {
  const workers = opts.workers === undefined ? undefined : Number(opts.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) {
    throw new CliError(`--workers: expected an integer >= 0, got ${JSON.stringify(opts.workers)}`);
  }
  return workers;
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);

function formatSchemaProfile(p: SchemaProfile, head: [string, string][]): string {
  const lines = head.map(([k, v]) => `${k.padEnd(9)} ${v}`);
  lines.push(`${'rows'.padEnd(9)} ${p.rows}`);
  for (const l of p.labels) lines.push(`${'label'.padEnd(9)} ${l.name}: rate ${l.rate.toFixed(4)}`);
  const rows = [['field', 'kind', 'cardinality', 'vocabulary', 'oov', 'missing'],
    ...p.fields.map((f) => [f.name, f.kind, String(f.cardinality), f.vocabulary === undefined ? '-' : String(f.vocabulary), pct(f.oovShare), pct(f.missingShare)])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  lines.push('', ...rows.map((r) => r.map((v, c) => (c === 0 || c === 1 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd()));
  return `${lines.join('\n')}\n`;
}

/**
 * --schema: the file is read as the config's source (its path replaced by FILE) and encoded with
 * the config's fields; the cache is never used or written, since inspecting must read the file.
 */
async function runSchemaInspect(file: string, schemaFile: string, opts: InspectOptions): Promise<void> {
  let report: SchemaProfile;
  let cfg: DataConfig;
  try {
    cfg = await loadDataConfig(schemaFile);
    const { cache: _cache, sampling: _sampling, ...rest } = cfg;
    // Split mode files would read the config's other files too; here FILE alone is the data (all fit rows).
    const split = cfg.split.mode === 'files' ? { mode: 'files' as const } : cfg.split;
    cfg = { ...rest, source: withSourcePath(cfg.source, resolve(file)), split };
    const workers = parseWorkers(opts);
    report = await profileWithSchema(cfg, process.cwd(), { onBadLine: opts.onBadLine, ...(workers === undefined ? {} : { workers }) });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw userError(file, err);
  }
  const { stats } = report;
  const out = { file, schema: schemaFile, format: cfg.source.format, rows: report.rows, skipped: stats.skippedLines,
    skippedExamples: stats.skippedExamples, labels: report.labels, fields: report.fields };
  process.stdout.write(opts.json === true ? `${JSON.stringify(out)}\n`
    : formatSchemaProfile(report, [['file', file], ['schema', schemaFile], ['format', cfg.source.format], ['skipped', String(stats.skippedLines)]]));
  if (stats.skippedLines > 0) {
    throw new CliError(`${file}: ${stats.skippedLines} bad line${stats.skippedLines === 1 ? '' : 's'} skipped; first: ${stats.skippedExamples[0] ?? '?'}`);
  }
}

/**
 * -m: the drift check. FILE is read as the model's training source and encoded with its fitted
 * schema, so OOV is the share of rows whose token that model never trained on (a refit, as
 * --schema does, would see 0 % there by construction).
 */
async function runModelInspect(file: string, modelDir: string, opts: InspectOptions): Promise<void> {
  let report: SchemaProfile & { headerless: boolean };
  let format: string;
  try {
    const manifest = readManifest(modelDir);
    const { fitted, source, columns } = readSavedSchema(manifest.schema, resolve(modelDir, 'manifest.json'));
    format = source.format;
    const workers = parseWorkers(opts);
    report = await profileWithFitted(fitted, withSourcePath(source, resolve(file)), {
      onBadLine: opts.onBadLine, header: opts.header ? undefined : false, ...(columns && { knownColumns: columns }),
      ...(workers === undefined ? {} : { workers }),
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ModelFileError) throw new CliError(err.message);
    throw userError(file, err);
  }
  const { stats } = report;
  if (report.headerless) process.stderr.write(`ctrkit data inspect: ${file} has no header line; read with the training file's columns\n`);
  const out = { file, model: modelDir, format, header: !report.headerless, rows: report.rows, skipped: stats.skippedLines,
    skippedExamples: stats.skippedExamples, labels: report.labels, fields: report.fields };
  process.stdout.write(opts.json === true ? `${JSON.stringify(out)}\n`
    : formatSchemaProfile(report, [['file', file], ['model', modelDir], ['format', format], ['header', report.headerless ? 'none (training columns)' : 'yes'],
      ['skipped', String(stats.skippedLines)]]));
  if (stats.skippedLines > 0) {
    throw new CliError(`${file}: ${stats.skippedLines} bad line${stats.skippedLines === 1 ? '' : 's'} skipped; first: ${stats.skippedExamples[0] ?? '?'}`);
  }
}

async function runInspect(file: string, opts: InspectOptions): Promise<void> {
  checkInputFile(file);
  if (opts.schema !== undefined && opts.model !== undefined) throw new CliError('--schema and -m/--model are exclusive: refit on FILE, or check FILE against a trained model');
  if (opts.model !== undefined) return runModelInspect(file, opts.model, opts);
  if (opts.schema !== undefined) return runSchemaInspect(file, opts.schema, opts);
  const format = opts.format ?? formatFromName(file, opts.featindex !== undefined);
  if (format === undefined) {
    throw new CliError(`${file}: cannot tell the format from the file name; pass --format (${FORMATS.join(', ')})`);
  }
  let report: Record<string, unknown>;
  let text: string;
  let skipped = 0;
  let firstSkipped: string | undefined;
  try {
    const opened = await open(file, format, opts);
    const profile = await profileRows(opened.source);
    const stats = opened.stats();
    skipped = stats?.skipped ?? 0;
    firstSkipped = stats?.skippedExamples[0];
    report = {
      file, format, rows: profile.rows,
      ...(stats && { lines: stats.lines, skipped: stats.skipped, skippedExamples: stats.skippedExamples }),
      labels: profile.labels, fields: profile.fields,
    };
    const head: [string, string][] = [['file', file], ['format', format]];
    if (stats !== undefined) head.push(['lines', String(stats.lines)], ['skipped', String(stats.skipped)]);
    text = formatProfile(profile, head);
  } catch (err) {
    throw userError(file, err);
  }
  process.stdout.write(opts.json === true ? `${JSON.stringify(report)}\n` : text);
  if (skipped > 0) {
    throw new CliError(`${file}: ${skipped} bad line${skipped === 1 ? '' : 's'} skipped; first: ${firstSkipped ?? '?'}`);
  }
}

export function dataCommand(): Command {
  const inspect = new Command('inspect')
    .description('validate every row of a data file and print rows, label rates, per-field cardinality and missing share')
    .argument('<file>', 'data file, plain or gzip (Parquet / JSON read through DuckDB)')
    .addOption(new Option('-f, --format <format>', 'file format (default: from the extension; .txt/.tsv = criteo)').choices(FORMATS))
    .option('--featindex <file>', 'iPinYou featindex file (implies --format ipinyou)')
    .option('--columns <a,b,...>', 'csv: column names (checked against the header, or naming a headerless file); parquet/json: fields to inspect')
    .option('--label <col,...>', 'label column(s) (csv, parquet, json; parquet/json default "label")')
    .option('--label-values <v,...>', 'allowed label values (default 0,1; svmlight: any number)')
    .option('--numeric <col,...>', 'csv: columns that must hold finite numbers')
    .option('--delimiter <char>', 'csv: field delimiter', ',')
    .option('--no-header', "csv: the file has no header line (needs --columns; with -m the model's training columns)")
    .addOption(new Option('--on-bad-line <policy>', 'error: stop at the first bad line; skip: count bad lines (exit 1 if any)')
      .choices(['error', 'skip']).default('error'))
    .option('--workers <n>', 'parse threads for criteo/csv/svmlight (default: number of cores)')
    .option('--json', 'print one JSON object instead of a table')
    .option('--schema <config>', "encode every row with the config's data section (FILE replaces its source path), vocabularies refit on FILE, and report per-field cardinality, OOV share and missing share")
    .option('-m, --model <dir>', "drift check: read FILE as the model's training data and report per field the share of rows whose token the model never saw (OOV) and the missing share")
    .addHelpText('after', `
Exit status: 0 when every row is valid; 1 with the first problem as file:line: field ...
(or, with --on-bad-line skip, the number of skipped lines) otherwise.

Example:
  ctrkit data inspect train.txt.gz
  ctrkit data inspect clicks.parquet --label click --columns C1,C2,hour --json
  ctrkit data inspect new-day.csv.gz --schema examples/census-income.yaml
  ctrkit data inspect new-day.csv.gz -m runs/census-income/model

A CSV's first line is taken as its header; one that looks like data (numbers, empty or repeated
names) gets a warning. With -m the header is detected as predict does: a first line that does not
name the model's columns but has as many values as its training file's header is data.`)
    .action(async (file: string, opts: InspectOptions) => runInspect(file, opts));
  return new Command('data').description('inspect and validate data files').addCommand(inspect.showHelpAfterError('(add --help for usage)'));
}
