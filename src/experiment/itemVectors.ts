/**
 * A two-tower model's item vectors for every row of a file (the rows' item-group features are
 * read; other columns may be empty), so that serving can score a request against all items with
 * one matrix product (TwoTower.scoreWithItemVectors) instead of running the item tower per request.
 */
import { resolve } from 'node:path';
import { noGrad, endStep } from '../autograd/tape.js';
import { RowGatherer } from '../data/batching.js';
import { TwoTower } from '../models/twoTower.js';
import { ConfigError } from '../schema/errors.js';
import { encodeFile, withSourcePath } from '../schema/index.js';
import { loadScoringModel, type ScoreOptions, type ScoringModel } from './scoring.js';

export interface ItemVectors {
  /** Input line of each row (rows in file order). */
  lines: Uint32Array;
  /** Vector width (the model's outDim). */
  dim: number;
  /** [rows, dim], row-major. */
  vectors: Float32Array;
}

export async function itemVectorsOfFile(modelDir: string, input: string, opts: Omit<ScoreOptions, 'rowIds'>, batchSize = 4096): Promise<ItemVectors> {
  return itemVectorsOf(loadScoringModel(modelDir), modelDir, input, opts, batchSize);
}

/** itemVectorsOfFile with a model already loaded from `modelDir` (the server's snapshot). */
export async function itemVectorsOf(scoring: ScoringModel, modelDir: string, input: string, opts: Omit<ScoreOptions, 'rowIds'>, batchSize = 4096): Promise<ItemVectors> {
  const { model, fitted, source, columns } = scoring;
  if (!(model instanceof TwoTower)) {
    throw new ConfigError([`${modelDir}: item vectors are a two-tower model's; this model is '${model.kind}'`]);
  }
  const { dataset: ds, lines } = await encodeFile(fitted, withSourcePath(source, resolve(input)), {
    labels: opts.labels, onBadLine: opts.onBadLine, header: opts.header, knownColumns: columns, rowIds: true,
  });
  const dim = model.cfg.outDim;
  const vectors = new Float32Array(ds.numRows * dim);
  const order = Int32Array.from({ length: ds.numRows }, (_, i) => i);
  const gatherer = new RowGatherer(ds);
  model.eval();
  noGrad(() => {
    for (let from = 0; from < ds.numRows; from += batchSize) {
      vectors.set(model.itemVectors(gatherer.gather(order, from, Math.min(ds.numRows, from + batchSize))).data, from * dim);
      endStep();
    }
  });
  return { lines: lines!, dim, vectors };
}
