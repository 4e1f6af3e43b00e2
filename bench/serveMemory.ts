/**
 * Resident memory of a served Criteo-shaped model: `node --expose-gc dist/bench/serveMemory.js`
 *   --make DIR --model dnn|dcnv2 [--buckets N]   saves an untrained model (13 log-bucketed numbers, 26 categorical
 *                                                fields hashed into N rows each, dim 16, [400, 400, 400]) as DIR
 *   --serve DIR [--server FILE] [--score-thread on|off] [--rows FILE]
 *                                                serves DIR in this process (createServer of FILE: another build's
 *                                                dist/src/serve/server.js compares before / after), scores 20
 *                                                requests of 100 rows and 20 of 1 row, collects garbage and prints one JSON line of
 *                                                process.memoryUsage() in MiB (the scoring thread is in this process).
 * Run the two builds interleaved, several rounds: RSS is noisy on a shared machine.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FittedSchema, type SchemaSpec } from '../src/schema/index.js';
import { createModel, parseModelConfig } from '../src/models/registry.js';
import { saveModel, type JsonValue } from '../src/io/modelFile.js';
import { withoutInitialWeights } from '../src/nn/init.js';
import type { createServer as CreateServer } from '../src/serve/server.js';
import { flagValue } from './report.js';
import { criteoRows } from './criteoRows.js';

const argv = process.argv.slice(2);
const INTS = Array.from({ length: 13 }, (_, i) => `I${i + 1}`);
const CATS = Array.from({ length: 26 }, (_, i) => `C${i + 1}`);
const MODELS = { dnn: { type: 'dnn', dim: 16, hidden: [400, 400, 400] }, dcnv2: { type: 'dcnv2', dim: 16, hidden: [400, 400, 400], crossLayers: 3 } };

function make(dir: string, name: keyof typeof MODELS, buckets: number): void {
  const spec: SchemaSpec = {
    labels: [{ name: 'click', column: 'label', type: 'binary' }],
    fields: [
      ...INTS.map((n) => ({ name: n, column: n, privileged: false, kind: 'hash' as const, buckets: 64, logBucket: true as const })),
      ...CATS.map((n) => ({ name: n, column: n, privileged: false, kind: 'hash' as const, buckets })),
    ],
    dense: [],
    sequences: [],
  };
  const fitted = new FittedSchema(spec);
  const modelConfig = parseModelConfig(MODELS[name]);
  const dims = { numIds: fitted.numIds, numFields: INTS.length + CATS.length };
  const model = withoutInitialWeights(() => createModel(modelConfig, dims, 1));
  // Small values: the memory measured does not depend on them, the probe only needs finite scores.
  for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] = ((i % 17) - 8) * 1e-3;
  const source = { format: 'criteo', path: 'criteo.txt' };
  saveModel(dir, { model, modelConfig, dims, schema: { fitted: fitted.toJSON(), source } as unknown as JsonValue, metrics: {}, provenance: { dataHash: 'sha256:bench', seed: 1 } });
}

const mib = (b: number): number => Math.round(b / 2 ** 20);

async function serve(dir: string): Promise<void> {
  const serverFile = resolve(flagValue(argv, '--server') ?? join(import.meta.dirname, '..', 'src', 'serve', 'server.js'));
  const { createServer } = (await import(pathToFileURL(serverFile).href)) as { createServer: typeof CreateServer };
  const server = createServer({ modelDir: dir, scoreThread: flagValue(argv, '--score-thread') !== 'off', reload: { watch: false, pollMs: 0 } });
  await server.ready();
  const all = criteoRows(2000);
  for (let k = 0; k < 20; k++) {
    const r = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: all.slice(k * 100, (k + 1) * 100) } });
    if (r.statusCode !== 200) throw new Error(`serve memory: ${r.statusCode} ${r.body}`);
  }
  // 1-row requests too: where the event loop scores small batches itself, its model is built then.
  for (let k = 0; k < 20; k++) {
    const r = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: all.slice(k, k + 1) } });
    if (r.statusCode !== 200) throw new Error(`serve memory: ${r.statusCode} ${r.body}`);
  }
  const scoring = JSON.parse((await server.app.inject({ method: 'GET', url: '/v1/model' })).body).scoring as string;
  for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ server: serverFile, scoring, rss_mib: mib(m.rss), heap_mib: mib(m.heapUsed), external_mib: mib(m.external), array_buffers_mib: mib(m.arrayBuffers) })}\n`);
  await server.close();
}

const makeDir = flagValue(argv, '--make');
if (makeDir !== undefined) make(makeDir, (flagValue(argv, '--model') ?? 'dnn') as keyof typeof MODELS, Number(flagValue(argv, '--buckets') ?? 100_000));
else await serve(flagValue(argv, '--serve')!);
