/**
 * `npm run bench -- memory [--steps 500] [--every 25] [--batch 4096] [--rss-limit-mb 4096] [--json]`
 *
 * Peak memory of a training run whose per-step buffer sizes vary: Combined-Pair (BCE + RankNet
 * over every positive × negative pair of the batch) on DCN-v2, batch 4096, on the Criteo sample
 * of examples/criteo.yaml. The pair count changes with the positives drawn into each batch, so
 * every step asks the step arena for new sizes; a bounded arena keeps RSS flat after warm-up.
 * RSS is printed every `--every` steps; the run stops early (and says so) when RSS passes
 * `--rss-limit-mb`, so an unbounded pool cannot take the machine down.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { backend } from '../src/backend/index.js';
import { stepArena } from '../src/autograd/tape.js';
import { ShuffledBatches } from '../src/data/batching.js';
import { loadExperimentConfig } from '../src/experiment/config.js';
import { createLoss } from '../src/losses/registry.js';
import { createModel, parseModelConfig } from '../src/models/registry.js';
import { createOptimizer, parseOptimizerConfig } from '../src/optim/registry.js';
import { buildDataset } from '../src/schema/index.js';
import { Trainer } from '../src/train/trainer.js';
import { Reporter, cpuModel, flagValue, hasFlag } from './report.js';
import { packageRoot } from './paths.js';

const MiB = 1024 * 1024;
const mib = (bytes: number): number => Math.round(bytes / MiB);

export async function memoryBench(argv: string[]): Promise<void> {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const steps = Number(flagValue(argv, '--steps') ?? 500);
  const every = Number(flagValue(argv, '--every') ?? 25);
  const batchSize = Number(flagValue(argv, '--batch') ?? 4096);
  const limitMb = Number(flagValue(argv, '--rss-limit-mb') ?? 4096);
  const threads = flagValue(argv, '--threads');
  if (threads !== undefined) backend().setThreads(Number(threads));
  const root = packageRoot();
  const file = join(root, 'examples', 'criteo.yaml');
  const cfg = await loadExperimentConfig(file, root);
  const source = cfg.data.source as { path?: string };
  if (source.path && !existsSync(join(root, source.path))) {
    rep.note(`skipped: ${source.path} (the Criteo sample) is not there`);
    return;
  }
  const { dataset: ds, split } = await buildDataset(cfg.data, root);
  const dims = { numIds: ds.numIds, numFields: ds.numFields, denseDim: ds.denseNames?.length ?? 0, numSequences: ds.sequences?.length ?? 0 };
  const model = createModel(parseModelConfig({ type: 'dcnv2' }), dims, 1);
  const optimizer = createOptimizer(parseOptimizerConfig({ type: 'adam', lr: 0.001 }, 'optimizer'), model);
  const loss = createLoss({ type: 'combined-pair', alpha: 0.5, pairs: 'batch' });
  const train = new ShuffledBatches(ds, split.fit, batchSize);
  const perEpoch = Math.ceil(train.numRows / batchSize);

  rep.note(`cpu: ${cpuModel()} × ${cpus().length}, ${mib(totalmem())} MiB, node ${process.version}, ${backend().name} kernels`);
  rep.note(`Combined-Pair DCN-v2 (dim 16, [400, 400, 400], 3 cross layers), batch ${batchSize}, ${train.numRows} fit rows (${perEpoch} steps per epoch), ${steps} steps`);
  const sample = (step: number, pairs: number): void => {
    rep.row({
      bench: 'memory', step, rss_mb: mib(process.memoryUsage().rss), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      pooled_mb: mib(stepArena().pooledBytes), pairs,
    });
  };
  const abort = new AbortController();
  let lastPairs = 0;
  let stoppedAt: number | null = null;
  const t0 = performance.now();
  const trainer = new Trainer({
    model, optimizer, train, epochs: Math.ceil(steps / perEpoch), seed: 1, signal: abort.signal,
    loss: (m, b) => {
      let pos = 0;
      for (let i = 0; i < b.size; i++) if (b.labels[i]! > 0) pos++;
      lastPairs = pos * (b.size - pos);
      return loss(m.forward(b), b, { step: optimizer.stepCount });
    },
    afterStep: ({ globalStep }) => {
      const rss = process.memoryUsage().rss;
      if (globalStep % every === 0 || globalStep === 1 || globalStep >= steps || rss > limitMb * MiB) sample(globalStep, lastPairs);
      if (rss > limitMb * MiB) {
        stoppedAt = globalStep;
        abort.abort();
      } else if (globalStep >= steps) {
        abort.abort();
      }
    },
  });
  const r = await trainer.run();
  const seconds = (performance.now() - t0) / 1000;
  rep.row({
    bench: 'memory_summary', steps: r.globalStep, seconds: Math.round(seconds), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    stopped_by_rss_limit: stoppedAt !== null, cpu: cpuModel(),
  });
}
