/**
 * `npm run bench -- qu [--json] [--threads 1] [--candidates 256] [--k 4,16] [--windows 5] [--window-sec 1]`
 *
 * Inference speed of Q·U factorised treatment scoring (QU.scoreTreatments: N Q-passes, K U-passes,
 * one [N, d] × [d, K] product) against scoring the N·K candidate × treatment rows one by one
 * through the full model (forward on an N·K-row batch, built before timing). Layout of
 * examples/avazu-qu.yaml: 19 query/ad id fields, 3 UI id fields, dim 16, Q 400-400, U 32,
 * outDim 16. Reports scored pairs/s and the speed-up.
 */
import { cpus, loadavg } from 'node:os';
import { backend, setBackend } from '../src/backend/index.js';
import { loadNativeKernels } from '../src/backend/native.js';
import { endStep, noGrad } from '../src/autograd/tape.js';
import type { Batch } from '../src/data/batch.js';
import type { FeatureInfo } from '../src/data/features.js';
import { QU } from '../src/models/qu.js';
import { createModel, parseModelConfig } from '../src/models/registry.js';
import { Rng } from '../src/util/random.js';
import { Reporter, cpuModel, flagValue, hasFlag } from './report.js';
import { timedWindows } from './timing.js';

const Q_FIELDS = 19;
const U_FIELDS = 3;
const FIELDS = Q_FIELDS + U_FIELDS;
const PER_FIELD = 100;

function randomRows(size: number, rng: Rng): Batch {
  const ids = Int32Array.from({ length: size * FIELDS }, (_, p) => (p % FIELDS) * PER_FIELD + rng.int(PER_FIELD));
  return { size, numFields: FIELDS, ids, labels: new Float32Array(size) };
}

/** Row n·K + k: candidate n's query/ad ids with treatment k's UI ids. */
function pairRows(candidates: Batch, treatments: Batch): Batch {
  const N = candidates.size;
  const K = treatments.size;
  const ids = new Int32Array(N * K * FIELDS);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
    const row = (n * K + k) * FIELDS;
    ids.set(candidates.ids.subarray(n * FIELDS, n * FIELDS + Q_FIELDS), row);
    ids.set(treatments.ids.subarray(k * FIELDS + Q_FIELDS, (k + 1) * FIELDS), row + Q_FIELDS);
  }
  return { size: N * K, numFields: FIELDS, ids, labels: new Float32Array(N * K) };
}

export function quBench(argv: string[]): void {
  const rep = new Reporter(hasFlag(argv, '--json'));
  const threads = (flagValue(argv, '--threads') ?? '1').split(',').map(Number);
  const N = Number(flagValue(argv, '--candidates') ?? 256);
  const ks = (flagValue(argv, '--k') ?? '4,16').split(',').map(Number);
  const windows = Number(flagValue(argv, '--windows') ?? 5);
  const windowSec = Number(flagValue(argv, '--window-sec') ?? 1);
  const loaded = loadNativeKernels();
  if (loaded.kernels) setBackend(loaded.kernels);
  const kern = backend();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  rep.note(`cpu: ${cpuModel()} (${cpus().length} logical CPUs); load average ${load}; backend: ${kern.name}; ${N} candidates`);
  const features: FeatureInfo[] = Array.from({ length: FIELDS }, (_, j): FeatureInfo => ({
    name: `f${j}`, kind: 'id', index: j, offset: j * PER_FIELD, size: PER_FIELD, group: j < Q_FIELDS ? 'queryad' : 'ui',
  }));
  const model = createModel(
    parseModelConfig({ type: 'qu', dim: 16, q: ['queryad'], u: ['ui'], qHidden: [400, 400], uHidden: [32], outDim: 16 }),
    { numIds: FIELDS * PER_FIELD, numFields: FIELDS, features }, 1,
  ) as QU;
  model.eval();
  const rng = new Rng(1);
  const candidates = randomRows(N, rng);
  for (const t of threads) {
    kern.setThreads(t);
    for (const K of ks) {
      const treatments = randomRows(K, rng);
      const pairs = pairRows(candidates, treatments);
      const timed = (score: () => void): number => timedWindows(() => {
        noGrad(score);
        endStep();
      }, N * K, windows, windowSec).median;
      const factorised = timed(() => model.scoreTreatments(candidates, treatments));
      const pairwise = timed(() => model.forward(pairs));
      rep.row({
        bench: 'qu_scoring', threads: t, backend: kern.name, candidates: N, treatments: K,
        factorised_pairs_per_s: Math.round(factorised), pairwise_pairs_per_s: Math.round(pairwise), speedup: Math.round((factorised / pairwise) * 10) / 10,
      });
    }
  }
}
