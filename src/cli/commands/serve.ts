/** `ctrkit serve --model DIR`: an HTTP scoring server over a model directory (src/serve). */
import { Command, InvalidArgumentError, Option } from 'commander';
import { backend } from '../../backend/index.js';
import { DEFAULT_BATCH_OPTIONS } from '../../serve/batcher.js';
import { createServer } from '../../serve/server.js';
import { CliError } from '../errors.js';
import { asUserErrors, checkInputFile } from '../userErrors.js';
import { precisionNote, PRECISIONS, type Precision } from '../../nn/quantize.js';

interface ServeCliOptions {
  model: string;
  host: string;
  port: number;
  token?: string;
  maxRows: number;
  bodyLimit: number;
  batchWaitMs: number;
  idleWaitMs: number;
  maxBatchRows: number;
  chunkRows: number;
  loopRows: number;
  threadInFlight: number;
  pollMs: number;
  threads?: number;
  logLevel: string;
  items?: string;
  itemsLabels: boolean;
  precision: Precision;
  scoreThread: 'on' | 'off' | 'auto';
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !(n >= min && n <= max)) {
      throw new InvalidArgumentError(`expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got '${v}'`);
    }
    return n;
  };
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve a saved model over HTTP (POST /v1/predict), reloading it when the directory gets a new snapshot')
    .requiredOption('-m, --model <dir>', 'model directory written by ctrkit train')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', integer(0, 65535), 8080)
    .addOption(new Option('--token <token>', 'require Authorization: Bearer <token> (all routes but /healthz, /readyz)').env('CTRKIT_SERVE_TOKEN'))
    .option('--max-rows <n>', 'rows per request', integer(1), 4096)
    .option('--body-limit <bytes>', 'request body size limit', integer(1), 8 * 1024 * 1024)
    .option('--batch-wait-ms <ms>', 'how long a request waits for others to share its batch while others are waiting or being scored (0: same event-loop turn only)', integer(0), 1)
    .option('--idle-wait-ms <ms>', 'the same for a request that finds the server idle (0: scored at once)', integer(0), 0)
    .option('--max-batch-rows <n>', 'rows at which a batch is scored without waiting', integer(1), 1024)
    .option('--chunk-rows <n>', 'rows scored per step before other requests get a turn', integer(1), 256)
    .option('--loop-rows <n>', 'a predict request of at most this many rows from a sequential client (the only connection sending predict requests, nothing else waiting) is scored on the event loop with the weights the scoring thread shares with it (0: always the thread)', integer(0), DEFAULT_BATCH_OPTIONS.loopRows)
    .option('--thread-in-flight <n>', 'batches handed to the scoring thread at once (the next waits in its queue, so the thread does not idle between batches)', integer(1), DEFAULT_BATCH_OPTIONS.threadInFlight)
    .option('--poll-ms <ms>', 'interval of the model-directory check beside fs.watch (0: watch only)', integer(0), 2000)
    .option('--threads <n>', 'native compute threads (default: all cores)', integer(1))
    .addOption(new Option('--score-thread <mode>', 'score predict, rank and treatments requests on a worker thread that holds the weights, while the event loop reads the next requests (on), or on the event loop in --chunk-rows steps (off); auto: on with 2 CPUs or more').choices(['on', 'off', 'auto']).default('auto'))
    .option('--items <file>', 'two-tower model: candidate items (the model\'s input format) that POST /v1/rank scores; their vectors are computed with each loaded snapshot')
    .option('--items-labels', 'the --items file has the label column(s)', false)
    .addOption(new Option('--precision <p>', 'dense-layer precision for scoring: fp32, or int8 / bf16 (DNN / DCN-v2; docs/config.md)').choices(PRECISIONS).default('fp32'))
    .addOption(new Option('--log-level <level>', 'log level (JSON lines on stderr)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'))
    .addHelpText('after', '\nRequest: POST /v1/predict {"rows": [{"<field>": <raw value>, ...}, ...], "context": {...}}\n'
      + 'Answer: {"model": "<version>", "scores": [p, ...]}; p as ctrkit predict gives it. See docs/serving.md.\n'
      + 'With --items: POST /v1/rank {"rows": [...], "items": [i, ...]?, "top": k?} scores each row against items (rows of the file).\n'
      + 'SIGTERM / SIGINT: stop accepting, finish in-flight requests, exit 0.')
    .action(async (o: ServeCliOptions) => {
      if (o.threads !== undefined) backend().setThreads(o.threads);
      if (o.items !== undefined) checkInputFile(o.items);
      const server = await asUserErrors(async () => createServer({
        modelDir: o.model, host: o.host, port: o.port, token: o.token, maxRows: o.maxRows, bodyLimit: o.bodyLimit,
        batch: { maxWaitMs: o.batchWaitMs, idleWaitMs: o.idleWaitMs, maxBatchRows: o.maxBatchRows, chunkRows: o.chunkRows, loopRows: o.loopRows, threadInFlight: o.threadInFlight },
        reload: { pollMs: o.pollMs },
        logger: { level: o.logLevel, stream: process.stderr },
        precision: o.precision, scoreThread: o.scoreThread === 'auto' ? 'auto' : o.scoreThread === 'on',
        ...(o.items === undefined ? {} : { items: o.items, itemsHaveLabels: o.itemsLabels }),
      }));
      try {
        await asUserErrors(() => server.ready());
      } catch (e) {
        await server.close();
        throw e;
      }
      let url: string;
      try {
        url = await server.listen();
      } catch (e) {
        await server.close();
        // Address in use, not ours, not resolvable: the user's to fix.
        if ((e as NodeJS.ErrnoException).syscall !== undefined) throw new CliError(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
        throw e;
      }
      const s = server.current();
      const precision = o.precision === 'fp32' || s.precision === undefined ? '' : `, ${precisionNote(s.precision)}`;
      process.stderr.write(`ctrkit serve: model ${s.version} (${s.manifest.model.type}${precision}) at ${url}\n`);
      await new Promise<void>((resolve, reject) => {
        const stop = (signal: string): void => {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          process.stderr.write(`ctrkit serve: ${signal}: finishing in-flight requests\n`);
          server.close().then(resolve, reject);
        };
        const onTerm = (): void => stop('SIGTERM');
        const onInt = (): void => stop('SIGINT');
        process.once('SIGTERM', onTerm);
        process.once('SIGINT', onInt);
      });
    });
}
