/**
 * `npm run bench -- accuracy [--datasets census-income,criteo,avazu,ipinyou] [--models lr,fm,dnn,dcnv2]
 *  [--seeds 1,2,3,4,5] [--json]`
 *
 * Replicates ../shared/bench/torch_ref.py through the ordinary `ctrkit train` runner: the
 * examples/<dataset>.yaml configs reproduce its preprocessing (prep SHA-256 asserted in the
 * tests), split, initialisation and optimiser (Adam lr 1e-3, batch 256, 3 epochs, best epoch by
 * validation AUC); only the model type and the seed vary. ctrkit's tables move row-sparsely
 * (lazy Adam), so the reference figures come from its `sparseadam` runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentConfig } from '../src/experiment/config.js';
import { runTraining } from '../src/experiment/trainRun.js';
import { parseModelConfig } from '../src/models/registry.js';
import { Reporter, flagValue, hasFlag } from './report.js';
import { packageRoot, sharedDir } from './paths.js';

interface RefSummary { test_auc_mean: number; test_auc_std: number; test_logloss_mean: number; test_logloss_std: number; seconds_mean: number; train_rows: number }

function referenceSummary(dataset: string, model: string): RefSummary | null {
  const file = join(sharedDir(), 'bench', 'results', 'sparseadam', `${dataset.replace('-', '_')}_${model}_sparseadam_e3.jsonl`);
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as RefSummary;
}

const meanStd = (a: number[]): [number, number] => {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  const v = a.length > 1 ? a.reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1) : 0;
  return [m, Math.sqrt(v)];
};
const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;

export async function accuracyBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const datasets = (flagValue(argv, '--datasets') ?? 'census-income').split(',');
  const models = (flagValue(argv, '--models') ?? 'lr,fm,dnn,dcnv2').split(',');
  const seeds = (flagValue(argv, '--seeds') ?? '1,2,3,4,5').split(',').map(Number);
  const root = packageRoot();
  const out = mkdtempSync(join(tmpdir(), 'ctrkit-accuracy-'));
  try {
    for (const dname of datasets) {
      const file = join(root, 'examples', `${dname}.yaml`);
      if (!existsSync(file)) throw new Error(`bench accuracy: no examples/${dname}.yaml`);
      const base = await loadExperimentConfig(file, root);
      for (const mname of models) {
        const cfg = { ...base, model: parseModelConfig({ type: mname }) };
        const aucs: number[] = [];
        const lls: number[] = [];
        const secs: number[] = [];
        let fitRows = 0;
        for (const seed of seeds) {
          const r = await runTraining(cfg, { seed, quiet: true, output: join(out, `${dname}-${mname}-${seed}`) });
          aucs.push(r.test.auc!);
          lls.push(r.test.logloss!);
          secs.push(r.seconds);
          fitRows = r.rows.fit;
          rep.row({ bench: 'accuracy_seed', dataset: dname, model: mname, seed, epoch_chosen: r.train.best?.epoch ?? null,
            test_auc: r4(r.test.auc!), test_logloss: r4(r.test.logloss!), seconds: Math.round(r.seconds * 100) / 100 });
        }
        const [am, as] = meanStd(aucs);
        const [lm, ls] = meanStd(lls);
        const sm = secs.reduce((a, b) => a + b, 0) / secs.length;
        const ref = referenceSummary(dname, mname);
        rep.row({ bench: 'accuracy', dataset: dname, model: mname, seeds: seeds.length, epochs: cfg.train.epochs,
          test_auc_mean: r4(am), test_auc_std: r4(as), test_logloss_mean: r4(lm), test_logloss_std: r4(ls),
          // seconds include reading and encoding the data, as one `ctrkit train` run does
          train_rows_per_s: Math.round((fitRows * cfg.train.epochs) / sm),
          ref_test_auc_mean: ref ? r4(ref.test_auc_mean) : null, ref_test_auc_std: ref ? r4(ref.test_auc_std) : null,
          ref_test_logloss_mean: ref ? r4(ref.test_logloss_mean) : null, ref_test_logloss_std: ref ? r4(ref.test_logloss_std) : null,
          ref_train_rows_per_s: ref ? Math.round((ref.train_rows * cfg.train.epochs) / ref.seconds_mean) : null });
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
