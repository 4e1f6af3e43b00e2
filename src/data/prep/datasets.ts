import { join } from 'node:path';
import { openCriteo, CRITEO_COLUMN_NAMES } from '../readers/criteo.js';
import { openCsv, type CsvColumnType } from '../readers/csv.js';
import { DataFormatError } from '../readers/errors.js';
import { openIpinyou, readFeatIndex } from '../readers/ipinyou.js';
import type { ReaderOptions, ReaderStats } from '../readers/reader.js';
import { encodeRows, type EncodedDataset, type EncodeOptions, type LabeledRow } from './encode.js';
import type { FieldSpec } from './field.js';

/** The benchmark datasets of shared/bench/README.md ("Reading the data"). */
export type BenchDatasetName = 'criteo' | 'avazu' | 'ipinyou' | 'census-income' | 'census-marital';

/** Rows of one dataset as fields + labeled raw values, with the reader stats once read. */
export interface DatasetRows {
  fields: FieldSpec[];
  rows: AsyncIterable<LabeledRow>;
  stats: ReaderStats[];
}

/** A delimited-text dataset: which columns are the label and the inputs, and how they are read. */
interface CsvDatasetConfig {
  kind: 'csv';
  file: string;
  /** Column names for a file without header; undefined = the file has a header. */
  columns?: readonly string[];
  trim?: boolean;
  /** The label column, and how a value becomes 0/1 (default: parsed as an integer). */
  label: { column: string; positive?: (value: string) => boolean };
  /** Columns that are not inputs (the label column must be listed if it is not an input). */
  drop: readonly string[];
  /** Integer columns that are log-bucketed; all others are categorical tokens as written. */
  logBucket?: readonly string[];
}

type DatasetConfig =
  | { kind: 'criteo'; file: string }
  | { kind: 'ipinyou'; file: string; featIndex: string }
  | CsvDatasetConfig;

/** keras-mmoe's names of the 42 census-income (KDD) columns, in file order. */
export const CENSUS_COLUMNS: readonly string[] = [
  'age', 'class_worker', 'det_ind_code', 'det_occ_code', 'education', 'wage_per_hour', 'hs_college', 'marital_stat',
  'major_ind_code', 'major_occ_code', 'race', 'hisp_origin', 'sex', 'union_member', 'unemp_reason', 'full_or_part_emp',
  'capital_gains', 'capital_losses', 'stock_dividends', 'tax_filer_stat', 'region_prev_res', 'state_prev_res',
  'det_hh_fam_stat', 'det_hh_summ', 'instance_weight', 'mig_chg_msa', 'mig_chg_reg', 'mig_move_reg', 'mig_same',
  'mig_prev_sunbelt', 'num_emp', 'fam_under_18', 'country_father', 'country_mother', 'country_self', 'citizenship',
  'own_or_self', 'vet_question', 'vet_benefits', 'weeks_worked', 'year', 'income_50k',
];

const CENSUS = {
  kind: 'csv',
  file: 'census_income_kdd/census-income.test.gz',
  columns: CENSUS_COLUMNS,
  trim: true,
  // Both label columns are dropped for both tasks so that the inputs are identical (MMoE convention);
  // instance_weight is a sampling weight, not a feature.
  drop: ['marital_stat', 'instance_weight', 'income_50k'],
  logBucket: ['age', 'wage_per_hour', 'capital_gains', 'capital_losses', 'stock_dividends', 'num_emp', 'weeks_worked'],
} as const;

/** File locations are relative to the shared data directory. */
export const BENCH_DATASETS: Readonly<Record<BenchDatasetName, DatasetConfig>> = {
  criteo: { kind: 'criteo', file: 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz' },
  avazu: {
    kind: 'csv',
    file: 'avazu_head9k/avazu_train_head8999.csv.gz',
    label: { column: 'click' },
    drop: ['id', 'click'],
  },
  ipinyou: { kind: 'ipinyou', file: 'ipinyou_deepctr/train.fm.txt.gz', featIndex: 'ipinyou_deepctr/featindex.fm.txt.gz' },
  'census-income': { ...CENSUS, label: { column: 'income_50k', positive: (v) => v.includes('50000+') } },
  'census-marital': { ...CENSUS, label: { column: 'marital_stat', positive: (v) => v === 'Never married' } },
};

export const BENCH_DATASET_NAMES = Object.keys(BENCH_DATASETS) as BenchDatasetName[];

/** Opens one benchmark dataset under `dataDir` as labeled raw rows (the reading rules of the README). */
export async function openBenchDataset(name: BenchDatasetName, dataDir: string, options: ReaderOptions = {}): Promise<DatasetRows> {
  const cfg = BENCH_DATASETS[name];
  if (cfg === undefined) throw new Error(`unknown dataset ${JSON.stringify(name)}; one of ${BENCH_DATASET_NAMES.join(', ')}`);
  switch (cfg.kind) {
    case 'criteo': {
      const r = await openCriteo(join(dataDir, cfg.file), options);
      const names = CRITEO_COLUMN_NAMES.slice(1);
      const fields: FieldSpec[] = names.map((n, i) => ({ name: n, transform: i < 13 ? 'log-bucket' : 'identity' }));
      async function* rows(): AsyncGenerator<LabeledRow> {
        const values = new Array<string | number>(39);
        for await (const row of r) {
          for (let i = 0; i < 13; i++) values[i] = row.ints[i]!;
          for (let i = 0; i < 26; i++) values[13 + i] = row.cats[i]!;
          yield { label: row.label, values };
        }
      }
      return { fields, rows: rows(), stats: [r.stats] };
    }
    case 'ipinyou': {
      const index = await readFeatIndex(join(dataDir, cfg.featIndex), options);
      const r = await openIpinyou(join(dataDir, cfg.file), index, options);
      async function* rows(): AsyncGenerator<LabeledRow> {
        for await (const row of r) yield { label: row.label, values: row.idx };
      }
      return { fields: index.fields.map((n) => ({ name: n })), rows: rows(), stats: [r.stats] };
    }
    case 'csv':
      return openCsvDataset(cfg, dataDir, options);
  }
}

async function openCsvDataset(cfg: CsvDatasetConfig, dataDir: string, options: ReaderOptions): Promise<DatasetRows> {
  const types: Record<string, CsvColumnType> = {};
  for (const c of cfg.logBucket ?? []) types[c] = 'int?';
  if (cfg.label.positive === undefined) types[cfg.label.column] = 'int';
  const file = join(dataDir, cfg.file);
  const r = await openCsv(file, {
    ...options, header: cfg.columns === undefined, columns: cfg.columns, trim: cfg.trim, types,
  });
  const cols = r.columns;
  const labelCol = cols.indexOf(cfg.label.column);
  if (labelCol === -1) throw new DataFormatError(file, 1, undefined, `no label column ${JSON.stringify(cfg.label.column)}`);
  const logSet = new Set(cfg.logBucket ?? []);
  const drop = new Set(cfg.drop);
  const inputCols: number[] = [];
  const fields: FieldSpec[] = [];
  cols.forEach((c, i) => {
    if (drop.has(c)) return;
    inputCols.push(i);
    fields.push({ name: c, transform: logSet.has(c) ? 'log-bucket' : 'identity' });
  });
  const positive = cfg.label.positive;
  async function* rows(): AsyncGenerator<LabeledRow> {
    const values = new Array<string>(inputCols.length);
    for await (const f of r) {
      for (let k = 0; k < inputCols.length; k++) values[k] = f[inputCols[k]!]!;
      const lv = f[labelCol]!;
      yield { label: positive === undefined ? Number(lv) : positive(lv) ? 1 : 0, values };
    }
  }
  return { fields, rows: rows(), stats: [r.stats] };
}

/** A benchmark dataset encoded as torch_ref.py does it (compare prepSha256 with the README). */
export interface BenchDataset extends EncodedDataset {
  name: BenchDatasetName;
  readerStats: ReaderStats[];
}

/** Reads and encodes one benchmark dataset: fields, log buckets, file-order split, min-count-2 vocabularies. */
export async function loadBenchDataset(name: BenchDatasetName, dataDir: string,
  options: ReaderOptions & EncodeOptions = {}): Promise<BenchDataset> {
  const src = await openBenchDataset(name, dataDir, options);
  const ds = await encodeRows(src.fields, src.rows, options);
  return { ...ds, name, readerStats: src.stats };
}
