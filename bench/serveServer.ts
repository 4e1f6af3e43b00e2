/**
 * The server process of `npm run bench -- serve`: `ctrkit serve` on a model directory with one
 * compute thread (--threads N), scoring with ctrkit (--score-thread on|off|auto) or (with --onnx FILE) with onnxruntime-node on the exported
 * graph, behind the same HTTP layer and batcher; with --precision int8 or bf16, ctrkit's opt-in
 * reduced-precision scoring. Prints its URL as one line when listening.
 */
import { backend } from '../src/backend/index.js';
import { loadScoringModel } from '../src/experiment/scoring.js';
import { isPrecision, PRECISIONS } from '../src/nn/quantize.js';
import { createServer } from '../src/serve/server.js';
import { OrtScorer } from './onnxRuntime.js';
import { flagValue } from './report.js';

const argv = process.argv.slice(2);
const modelDir = flagValue(argv, '--model')!;
const onnx = flagValue(argv, '--onnx');
const precision = flagValue(argv, '--precision') ?? 'fp32';
if (!isPrecision(precision)) throw new Error(`--precision: expected one of ${PRECISIONS.join(', ')}, got ${precision}`);
const wait = flagValue(argv, '--batch-wait-ms');
const idleWait = flagValue(argv, '--idle-wait-ms');
const loopRows = flagValue(argv, '--loop-rows');
const inFlight = flagValue(argv, '--thread-in-flight');
// --score-thread on|off|auto: ctrkit scores on its scoring thread / on the event loop / the server's default; --threads N: native compute threads.
const flag = flagValue(argv, '--score-thread');
const scoreThread = flag === undefined || flag === 'auto' ? 'auto' : flag === 'on';
backend().setThreads(Number(flagValue(argv, '--threads') ?? 1));
// --ort-threads N: onnxruntime's intra-op threads (--threads by default; it spins while waiting, so more threads than free cores cost it).
const ortThreads = Number(flagValue(argv, '--ort-threads') ?? flagValue(argv, '--threads') ?? 1);
// The snapshot version the graph was exported from: a reloaded model is scored by ctrkit.
const { manifest, fitted } = loadScoringModel(modelDir, { recover: false });
const ort = onnx === undefined ? undefined : await OrtScorer.load(onnx, fitted, ortThreads);
const server = createServer({
  modelDir, port: 0, reload: { pollMs: 500 }, precision, scoreThread, batch: {
    ...(wait === undefined ? {} : { maxWaitMs: Number(wait) }), ...(idleWait === undefined ? {} : { idleWaitMs: Number(idleWait) }),
    ...(loopRows === undefined ? {} : { loopRows: Number(loopRows) }),
    ...(inFlight === undefined ? {} : { threadInFlight: Number(inFlight) }),
  },
  scorer: ort && ((snap) => snap.manifest.weights.sha256 !== manifest.weights.sha256 ? undefined
    : async (ds, start, end) => [Float64Array.from((await ort.score(ds, start, end)).probability)]),
});
process.stdout.write(`${await server.listen()}\n`);
const stop = async (): Promise<void> => {
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
