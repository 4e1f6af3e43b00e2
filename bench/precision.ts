/**
 * `npm run bench -- precision CONFIG… [--models dnn,dcnv2] [--precision int8,bf16] [--epochs N] [--json]`:
 * accuracy of reduced-precision scoring against fp32 on real data. Each config (an example's data section) is trained
 * with each model type — dcnv2 as the config has it, dnn with the config's dim and hidden widths
 * — and its test split is scored at both precisions through the functions behind `ctrkit
 * predict`: per reduced precision, max and mean |Δp| and the AUC and LogLoss change.
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
import { PRECISIONS, type Precision } from '../src/nn/quantize.js';
import { Reporter, flagValue, hasFlag } from './report.js';

export async function precisionBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const configs = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1]!.startsWith('--') && argv[i - 1] !== '--json'));
  if (configs.length === 0) throw new Error('bench precision: give one or more experiment configs (e.g. examples/criteo.yaml)');
  const kinds = (flagValue(argv, '--models') ?? 'dnn,dcnv2').split(',');
  const epochs = flagValue(argv, '--epochs');
  const reduced = (flagValue(argv, '--precision') ?? 'int8,bf16').split(',').map((p) => {
    if (p === 'fp32' || !(PRECISIONS as readonly string[]).includes(p)) throw new Error(`bench precision: --precision takes int8, bf16, got '${p}'`);
    return p as Precision;
  });
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
        const score = (precision: Precision): { p: Float64Array; kernel: string } => {
          const { model: loaded, manifest, precision: report } = loadScoringModel(run.modelDir, { precision });
          return { p: probabilityMap(manifest).apply(predictRows(loaded, run.dataset, rows)), kernel: report.kernel ?? '' };
        };
        const fp = score('fp32').p;
        const [aucFp, llFp] = [auc(fp, labels), logLoss(fp, labels)];
        for (const precision of reduced) {
          const { p: q, kernel } = score(precision);
          let maxDp = 0, sumDp = 0;
          for (let i = 0; i < fp.length; i++) {
            const d = Math.abs(fp[i]! - q[i]!);
            maxDp = Math.max(maxDp, d);
            sumDp += d;
          }
          const [aucQ, llQ] = [auc(q, labels), logLoss(q, labels)];
          rep.row({
            bench: 'precision', config, model: kind, precision, kernel, test_rows: fp.length, max_abs_dp: round(maxDp, 6), mean_abs_dp: round(sumDp / fp.length, 7),
            auc_fp32: round(aucFp, 5), auc: round(aucQ, 5), d_auc: round(aucQ - aucFp, 6),
            logloss_fp32: round(llFp, 5), logloss: round(llQ, 5), d_logloss: round(llQ - llFp, 6),
          });
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const round = (x: number, d: number): number => Number(x.toFixed(d));
