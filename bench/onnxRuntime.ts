/**
 * onnxruntime-node (a devDependency) scoring an exported graph on rows of an encoded Dataset: the
 * export tests' oracle and the serve bench's alternative scorer.
 */
import * as ort from 'onnxruntime-node';
import type { Dataset } from '../src/data/dataset.js';
import type { FittedSchema } from '../src/schema/fitted.js';
import { onnxFeeds, type OnnxFeed } from '../src/io/onnx/feeds.js';

export class OrtScorer {
  private constructor(private readonly session: ort.InferenceSession, private readonly fitted: FittedSchema) {}

  /** One intra-op thread by default, as the bench compares single-threaded scoring. */
  static async load(file: string, fitted: FittedSchema, threads = 1): Promise<OrtScorer> {
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    return new OrtScorer(session, fitted);
  }

  /** Probabilities and logits of rows [start, end). */
  score(ds: Dataset, start: number, end: number): Promise<{ probability: Float32Array; logit: Float32Array }> {
    return this.run(onnxFeeds(ds, this.fitted, start, end));
  }

  async run(inputs: Record<string, OnnxFeed>): Promise<{ probability: Float32Array; logit: Float32Array }> {
    const out = await this.outputs(inputs);
    return { probability: out.probability!, logit: out.logit! };
  }

  /** Every output of the graph by name (a multi-task model's probability_<task>, a tower's vectors). */
  async outputs(inputs: Record<string, OnnxFeed>): Promise<Record<string, Float32Array>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(inputs)) {
      feeds[name] = f.type === 'int64' ? new ort.Tensor('int64', f.data, f.dims) : new ort.Tensor('float32', f.data, f.dims);
    }
    const out = await this.session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
