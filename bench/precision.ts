/**
 * `npm run bench -- precision CONFIG… [--models dnn,dcnv2] [--epochs N] [--json]`: accuracy of
 * int8 scoring against fp32 on real data. Each config (an example's data section) is trained
 * with each model type — dcnv2 as the config has it, dnn with the config's dim and hidden widths
 * — and its test split is scored at both precisions through the functions behind `ctrkit
 * predict`: max and mean |Δp|, and the AUC and LogLoss of each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentConfig } from '../src/experiment/config.js';
import { runTraining } from '../src/experiment/trainRun.js';
import { loadScoringModel, probabilityMap } from '../src/experiment/scoring.js';
import { predictRows } from '../src/train/predict.js';
import { auc } from '../src/metrics/auc.js';
import { logLoss } from '../src/metrics/logLoss.js';
import { parseModelConfig } from '../src/models/registry.js';
import { int8Kernels } from '../src/backend/int8.js';
import type { Precision } from '../src/nn/quantize.js';
import { Reporter, flagValue, hasFlag } from './report.js';

export async function precisionBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const configs = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1]!.startsWith('--') && argv[i - 1] !== '--json'));
  if (configs.length === 0) throw new Error('bench precision: give one or more experiment configs (e.g. examples/criteo.yaml)');
  const kinds = (flagValue(argv, '--models') ?? 'dnn,dcnv2').split(',');
  const epochs = flagValue(argv, '--epochs');
  rep.note(`int8 kernel: ${int8Kernels().int8KernelName()}`);
  const tmp = mkdtempSync(join(tmpdir(), 'ctrkit-precision-'));
  try {
    for (const config of configs) {
      const base = await loadExperimentConfig(config);
      const m = base.model as { dim?: number; hidden?: readonly number[] };
      for (const kind of kinds) {
        const model = kind === base.model.type ? base.model : parseModelConfig({ type: kind, dim: m.dim ?? 16, hidden: m.hidden ?? [400, 400, 400] }, `bench precision ${kind}`);
        const cfg = { ...base, model, train: { ...base.train, ...(epochs !== undefined && { epochs: Number(epochs) }) } };
        const run = await runTraining(cfg, { quiet: true, output: join(tmp, `${kind}-${configs.indexOf(config)}`) });
        const rows = run.split.test;
        const labels = run.dataset.labels[0]!.subarray(rows.start, rows.end);
        const scored = (['fp32', 'int8'] as Precision[]).map((precision) => {
          const { model: loaded, manifest } = loadScoringModel(run.modelDir, { precision });
          return probabilityMap(manifest).apply(predictRows(loaded, run.dataset, rows));
        });
        const [fp, q] = scored as [Float64Array, Float64Array];
        let maxDp = 0, sumDp = 0;
        for (let i = 0; i < fp.length; i++) {
          const d = Math.abs(fp[i]! - q[i]!);
          maxDp = Math.max(maxDp, d);
          sumDp += d;
        }
        const [aucFp, aucQ] = [auc(fp, labels), auc(q, labels)];
        const [llFp, llQ] = [logLoss(fp, labels), logLoss(q, labels)];
        rep.row({
          bench: 'precision', config, model: kind, test_rows: fp.length, max_abs_dp: round(maxDp, 6), mean_abs_dp: round(sumDp / fp.length, 7),
          auc_fp32: round(aucFp, 5), auc_int8: round(aucQ, 5), d_auc: round(aucQ - aucFp, 6),
          logloss_fp32: round(llFp, 5), logloss_int8: round(llQ, 5), d_logloss: round(llQ - llFp, 6),
        });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const round = (x: number, d: number): number => Number(x.toFixed(d));
