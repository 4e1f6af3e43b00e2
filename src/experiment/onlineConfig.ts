/**
 * `train.online`: train on a time-ordered stream in one pass, each batch scored (progressive
 * validation) before it is trained on (src/experiment/onlineRun.ts). The other sections keep their
 * meaning; what a stream cannot honour is refused here, before anything runs.
 */
import { z } from 'zod';
import { STREAM_FORMATS, type DataConfig } from '../schema/index.js';
import type { ModelConfig } from '../models/registry.js';
import type { LossConfig } from '../losses/registry.js';

/** A NATS JetStream stream as the input: each message one record of data.source's line format. */
const jetstreamSchema = z.strictObject({
  /** Server URL(s): nats://host:port or host:port. */
  servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  stream: z.string().min(1),
  /** Only the messages on this subject (wildcards allowed). */
  subject: z.string().min(1).optional(),
  /** End the run once no message has arrived for this long (default: read until Ctrl-C / SIGTERM). */
  idleSeconds: z.number().positive().optional(),
});

/**
 * Vocabularies that grow on the stream instead of hashing: an id gets its own row after `minCount`
 * sightings, into a table of `capacity` rows per field, the least recently seen id evicted when full
 * (src/schema/growingVocab.ts).
 */
const vocabSchema = z.strictObject({
  minCount: z.number().int().positive(),
  /** Rows per field (the OOV row besides). */
  capacity: z.number().int().positive(),
  /** Ids counted per field while not yet admitted (default: capacity); the least recently seen forgotten first. */
  candidates: z.number().int().positive().optional(),
  /** The fields that grow one (default: every categorical or log-bucket field without its own hashBuckets). */
  fields: z.array(z.string().min(1)).min(1).optional(),
});

export const onlineSchema = z.strictObject({
  /** The stream: a file (gzip or not) read in file order, or '-' for standard input (default: data.source.path). */
  input: z.string().min(1).optional(),
  /** Buckets of every categorical / log-bucket field and sequence without its own hashBuckets. */
  hashBuckets: z.number().int().positive().optional(),
  /** Rows of the sliding window of the progressive metrics. */
  window: z.number().int().positive().default(10_000),
  /** A categorical field whose values slice the progressive calibration bias. */
  sliceField: z.string().min(1).optional(),
  /** Bytes per read of the input (smaller: rows of a slow pipe reach the trainer sooner). */
  chunkSize: z.number().int().min(64).optional(),
  /**
   * Read, parse and encode the next batches on a worker thread while the current one trains (a file
   * read by path or a JetStream stream, with hashed fields; the same batches, model bits and errors
   * as in-thread). false: all on the training thread. 'auto': ahead only when the process may use
   * cores enough — 3 for a file, 2 for JetStream (src/schema/streamAhead.ts READ_AHEAD_MIN_CORES):
   * on fewer the worker costs the training thread more than it takes off it.
   */
  readAhead: z.union([z.boolean(), z.literal('auto')], { error: "expected true, false or 'auto'" }).default('auto'),
  /** Also publish the model directory every N steps (atomically: `ctrkit serve` hot-reloads it); always at the end. */
  publishEvery: z.number().int().positive().optional(),
  /** Grow a bounded vocabulary per field instead of hashing (see vocabSchema). */
  vocab: vocabSchema.optional(),
  /** Read a NATS JetStream stream instead of `input`. */
  jetstream: jetstreamSchema.optional(),
  /**
   * With data.sampling.negativeRate r: kept negatives weigh 1/r (inverse propensity weights), so the
   * model learns the real odds and its predictions are not corrected (default: unweighted, corrected
   * as train.correctSampling says).
   */
  inverseWeights: z.boolean().default(false),
});

export type OnlineConfig = z.output<typeof onlineSchema>;

/** The train keys online mode reads besides `online` (the others are refused below when set). */
interface OnlineTrain {
  epochs: number;
  loss?: LossConfig | undefined;
  earlyStopping?: unknown;
  calibration: string;
  biasConstraints?: { slices: { by: string } } | undefined;
  probes: boolean;
  tasks?: readonly unknown[] | undefined;
  online?: OnlineConfig | undefined;
}

/** Problems of an online config, reported through `at(path, message)` like the other train checks. */
export function checkOnline(data: DataConfig, _model: ModelConfig, train: OnlineTrain, at: (path: string, msg: string) => void): void {
  const o = train.online;
  if (o === undefined) return;
  if (!(STREAM_FORMATS as readonly string[]).includes(data.source.format)) {
    at('data.source.format', `online training reads a line format as a stream (${STREAM_FORMATS.join(', ')}), not ${data.source.format}`);
  }
  if (train.epochs !== 1) at('train.epochs', `online training makes one pass over the stream: set 1 (got ${train.epochs})`);
  if (data.group !== undefined) at('data.group', 'online training scores and trains row by row; lists are not supported');
  if (o.inverseWeights && (data.sampling?.negativeRate ?? 1) === 1) at('train.online.inverseWeights', 'weights 1/r of sampled negatives: set data.sampling.negativeRate below 1');
  if (data.cache !== undefined) at('data.cache', 'a stream is not cached: remove it');
  if (data.split.mode === 'files') at('data.split', 'online training has no split: progressive validation scores every row before training on it');
  const loss = train.loss;
  if (loss !== undefined && !(loss.type === 'bce' || loss.type === 'focal' || (loss.type === 'combined-pair' && loss.pairs !== 'group'))) {
    at('train.loss.type', `'${loss.type}' is not supported in online mode (bce, focal, combined-pair over the batch)`);
  }
  if (train.earlyStopping !== undefined) at('train.earlyStopping', 'online training has no epochs to stop after');
  if (train.calibration !== 'none') at('train.calibration', 'online training has no validation rows to fit a calibration on');
  // A field's slices are its most frequent values over the fit rows, which a stream does not have before it trains.
  if (train.biasConstraints?.slices.by === 'field') at('train.biasConstraints.slices.by', "online training slices by pCTR bucket of each batch ('pctr'); a field's most frequent values are not known before the stream");
  if (train.probes) at('train.probes', 'not supported in online mode yet');
  if (train.tasks !== undefined) at('train.tasks', 'online training trains one task on the first label; multi-task is not supported in online mode yet');
  if (o.jetstream !== undefined) {
    if (o.input !== undefined) at('train.online.jetstream', 'give input or jetstream, not both');
    const src = data.source;
    if (src.format === 'csv' && (src.header || src.columns === undefined)) {
      at('data.source', 'a JetStream message is one CSV record without a header line: set header: false and columns');
    }
  }
  // Fields whose ids would otherwise hash by the stream's default: a vocabulary is what they give up.
  const growable = (f: DataConfig['fields'][number] | undefined): boolean => f !== undefined
    && ((f.kind === 'categorical' && f.hashBuckets === undefined) || (f.kind === 'numeric' && f.transform === 'log-bucket'));
  if (o.vocab !== undefined && o.vocab.fields === undefined && !data.fields.some(growable)) {
    at('train.online.vocab', 'no categorical or log-bucket field without hashBuckets to grow a vocabulary for');
  }
  if (o.vocab?.fields !== undefined) {
    o.vocab.fields.forEach((name, i) => {
      const f = data.fields.find((x) => x.name === name);
      if (!growable(f)) {
        at(`train.online.vocab.fields[${i}]`, f?.kind === 'categorical' ? `field ${name} sets hashBuckets: a field hashes or grows a vocabulary, not both`
          : `no categorical or log-bucket field ${JSON.stringify(name)} in data.fields (sequences hash in online mode)`);
      }
      if (o.vocab!.fields!.indexOf(name) !== i) at(`train.online.vocab.fields[${i}]`, `field ${name} is listed twice`);
    });
  }
  if (o.sliceField !== undefined) {
    const f = data.fields.find((x) => x.name === o.sliceField);
    if (f?.kind !== 'categorical') {
      at('train.online.sliceField', `no categorical field ${JSON.stringify(o.sliceField)} in data.fields (categorical fields: ${data.fields.filter((x) => x.kind === 'categorical').map((x) => x.name).join(', ') || 'none'})`);
    }
  }
}
