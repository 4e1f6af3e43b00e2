// Online training in file order: hashing vs a growing min-count vocabulary (train.online.vocab) at
// the same table size, on the Criteo and Avazu heads; LR and DNN; several seeds.
//   npx tsc -p tsconfig.json && node experiments/online-vocab.mjs [seeds] > docs/experiments/online-vocab/results.json
// Hash occupancy = distinct buckets the stream hits / buckets (counted by encoding the stream);
// vocab occupancy = admitted ids / capacity at the end of the stream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfigFile, openRowStream, streamSchema } from '../dist/src/schema/index.js';
import { parseExperimentConfig } from '../dist/src/experiment/config.js';
import { runOnlineTraining } from '../dist/src/experiment/onlineRun.js';

const root = resolve(import.meta.dirname, '..');
const seeds = Array.from({ length: Number(process.argv[2] ?? 3) }, (_, i) => i + 1);
const datasets = { criteo: 'examples/online-criteo.yaml', avazu: 'examples/avazu.yaml' };
const models = {
  lr: { model: { type: 'lr' }, optimizer: { type: 'adagrad', lr: 0.1, initialAccumulator: 0.1 } },
  dnn: { model: { type: 'dnn', dim: 16, hidden: [256, 128] }, optimizer: { type: 'adam', lr: 0.003 } },
};
const sizes = [1024, 8192];
const methods = [{ name: 'hash' }, { name: 'vocab-mc1', minCount: 1 }, { name: 'vocab-mc2', minCount: 2 }, { name: 'vocab-mc3', minCount: 3 }];

const out = mkdtempSync(join(tmpdir(), 'online-vocab-'));
const results = [];
for (const [data, file] of Object.entries(datasets)) {
  const base = await loadConfigFile(join(root, file));
  for (const size of sizes) {
    // Occupancy of hashing: the distinct buckets the stream's ids fall in.
    const hashed = parseExperimentConfig({ ...base, train: { epochs: 1, batchSize: 256, optimizer: models.lr.optimizer, online: { hashBuckets: size } } }, file, root);
    const fitted = streamSchema(hashed.data, size, file, 'x');
    const seen = new Set();
    for await (const b of await openRowStream(fitted, hashed.data.source, hashed.data.source.path, root, { batchSize: 4096 })) for (const id of b.dataset.ids) seen.add(id);
    const hashOccupancy = seen.size / fitted.numIds;
    for (const [model, m] of Object.entries(models)) {
      for (const method of methods) {
        for (const seed of seeds) {
          const online = { hashBuckets: size, window: 2000, ...(method.minCount ? { vocab: { minCount: method.minCount, capacity: size - 1 } } : {}) };
          const cfg = parseExperimentConfig({ ...base, model: m.model, train: { epochs: 1, batchSize: 256, seed, optimizer: m.optimizer, online }, output: join(out, 'run') }, file, root);
          const r = await runOnlineTraining(cfg, { quiet: true });
          results.push({
            data, model, size, method: method.name, seed, rows: r.rows, logloss: r.progressive.logloss, auc: r.progressive.auc,
            windowAuc: r.progressive.window.auc, windowLogloss: r.progressive.window.logloss,
            occupancy: r.vocab ? r.vocab.occupancy : hashOccupancy, oovShare: r.vocab?.oovShare ?? 0, evictions: r.vocab?.evictions ?? 0,
            forgotten: r.vocab?.forgotten ?? 0, rowsPerSecond: Math.round(r.rowsPerSecond),
          });
          process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
        }
      }
    }
  }
}
rmSync(out, { recursive: true, force: true });
process.stdout.write(JSON.stringify(results, null, 1) + '\n');
