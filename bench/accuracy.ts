/**
 * `npm run bench -- accuracy [--datasets census-income,criteo,…] [--models lr,fm,dnn,dcnv2]
 *  [--seeds 1,2,3,4,5] [--epochs 3] [--threads 2] [--json]`
 *
 * Replicates ../shared/bench/torch_ref.py (its README fixes preprocessing, split, init,
 * optimiser and epoch choice): Adam lr 1e-3 on dense parameters and lazy Adam on the
 * embedding tables (compare with the reference's `sparseadam` results, read from
 * ../shared/bench/results/sparseadam/), batch 256, the epoch with the best validation AUC.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBenchDataset, type BenchDatasetName, BENCH_DATASET_NAMES, BENCH_DATASETS } from '../src/data/prep/index.js';
import { Adam } from '../src/optim/adam.js';
import { Rng } from '../src/tensor/random.js';
import { LR } from '../src/models/lr.js';
import { FM } from '../src/models/fm.js';
import { DNN } from '../src/models/dnn.js';
import { DCNv2 } from '../src/models/dcnv2.js';
import type { CTRModel } from '../src/models/ctrModel.js';
import { trainEpoch, predictLogits } from '../src/train/epoch.js';
import { auc, logLoss, probabilitiesFromLogits } from '../src/metrics/index.js';
import { backend } from '../src/backend/index.js';
import { Reporter, flagValue, hasFlag } from './report.js';
import { packageRoot, sharedDir } from './paths.js';

function buildModel(name: string, numIds: number, numFields: number, seed: number): CTRModel {
  const base = { numIds, numFields, dim: 16, hidden: [400, 400, 400], initStd: 1e-4, seed };
  switch (name) {
    case 'lr': return new LR({ numIds, initStd: 1e-4, seed });
    case 'fm': return new FM({ numIds, dim: 16, initStd: 1e-4, seed });
    case 'dnn': return new DNN(base);
    case 'dcnv2': return new DCNv2({ ...base, crossLayers: 3, structure: 'parallel' });
    default: throw new Error(`bench accuracy: unknown model '${name}' (lr, fm, dnn, dcnv2)`);
  }
}

interface RefSummary { test_auc_mean: number; test_auc_std: number; test_logloss_mean: number; test_logloss_std: number; seconds_mean: number; train_rows: number }

function referenceSummary(dataset: string, model: string, epochs: number): RefSummary | null {
  const file = join(sharedDir(), 'bench', 'results', epochs === 3 ? 'sparseadam' : 'long_sparse', `${dataset.replace('-', '_')}_${model}_sparseadam_e${epochs}.jsonl`);
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as RefSummary;
}

/** The repo's bundled data/ (census-income) when it holds the dataset, else ../shared/data. */
function dataDirFor(name: BenchDatasetName): string {
  const bundled = join(packageRoot(), 'data');
  return existsSync(join(bundled, BENCH_DATASETS[name].file)) ? bundled : join(sharedDir(), 'data');
}

const meanStd = (a: number[]): [number, number] => {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  const v = a.length > 1 ? a.reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1) : 0;
  return [m, Math.sqrt(v)];
};
const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;

export async function accuracyBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const datasets = (flagValue(argv, '--datasets') ?? 'census-income').split(',') as BenchDatasetName[];
  const models = (flagValue(argv, '--models') ?? 'lr,fm,dnn,dcnv2').split(',');
  const seeds = (flagValue(argv, '--seeds') ?? '1,2,3,4,5').split(',').map(Number);
  const epochs = Number(flagValue(argv, '--epochs') ?? 3);
  backend().setThreads(Number(flagValue(argv, '--threads') ?? 2));
  for (const d of datasets) if (!BENCH_DATASET_NAMES.includes(d)) throw new Error(`bench accuracy: unknown dataset '${d}' (${BENCH_DATASET_NAMES.join(', ')})`);

  for (const dname of datasets) {
    const ds = await loadBenchDataset(dname, dataDirFor(dname));
    const { fit, validation, test } = ds.split;
    for (const mname of models) {
      const aucs: number[] = [];
      const lls: number[] = [];
      const secs: number[] = [];
      for (const seed of seeds) {
        const model = buildModel(mname, ds.numIds, ds.numFields, seed);
        const opt = new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 1e-3 });
        const perm = new Rng(seed ^ 0x5eed5eed);
        let best = { val: -Infinity, testAuc: NaN, testLl: NaN, epoch: 0 };
        const t0 = performance.now();
        for (let e = 1; e <= epochs; e++) {
          trainEpoch(model, opt, ds, fit.start, fit.end, 256, perm);
          const pv = probabilitiesFromLogits(predictLogits(model, ds, validation.start, validation.end));
          const valAuc = auc(pv, ds.labels.subarray(validation.start, validation.end));
          if (valAuc > best.val) {
            const pt = probabilitiesFromLogits(predictLogits(model, ds, test.start, test.end));
            const yt = ds.labels.subarray(test.start, test.end);
            best = { val: valAuc, testAuc: auc(pt, yt), testLl: logLoss(pt, yt), epoch: e };
          }
        }
        const s = (performance.now() - t0) / 1000;
        aucs.push(best.testAuc);
        lls.push(best.testLl);
        secs.push(s);
        rep.row({ bench: 'accuracy_seed', dataset: dname, model: mname, seed, epoch_chosen: best.epoch,
          test_auc: r4(best.testAuc), test_logloss: r4(best.testLl), seconds: Math.round(s * 100) / 100 });
      }
      const [am, as] = meanStd(aucs);
      const [lm, ls] = meanStd(lls);
      const sm = secs.reduce((a, b) => a + b, 0) / secs.length;
      const ref = referenceSummary(dname, mname, epochs);
      rep.row({ bench: 'accuracy', dataset: dname, model: mname, seeds: seeds.length, epochs,
        test_auc_mean: r4(am), test_auc_std: r4(as), test_logloss_mean: r4(lm), test_logloss_std: r4(ls),
        train_rows_per_s: Math.round((fit.end - fit.start) * epochs / sm),
        ref_test_auc_mean: ref ? r4(ref.test_auc_mean) : null, ref_test_auc_std: ref ? r4(ref.test_auc_std) : null,
        ref_test_logloss_mean: ref ? r4(ref.test_logloss_mean) : null, ref_test_logloss_std: ref ? r4(ref.test_logloss_std) : null,
        ref_train_rows_per_s: ref ? Math.round(ref.train_rows * epochs / ref.seconds_mean) : null });
    }
  }
}
