/** Batched inference over a dataset's rows, without recording gradients. */
import type { Dataset } from '../data/dataset.js';
import { RowGatherer, type Rows } from '../data/batching.js';
import type { CTRModel } from '../models/ctrModel.js';
import { noGrad, endStep } from '../autograd/tape.js';
import { servingLogit } from '../models/servingLogit.js';

/**
 * Logits of the given rows (an index list, or a range [start, end)), in that order; a two-logit
 * model gives z¹ − z⁰ per row (servingLogit).
 */
export function predictRows(model: CTRModel, ds: Dataset, rows: Int32Array | Rows, batchSize = 4096): Float32Array {
  const idx = rows instanceof Int32Array ? rows : Int32Array.from({ length: rows.end - rows.start }, (_, i) => rows.start + i);
  const out = new Float32Array(idx.length);
  const gatherer = new RowGatherer(ds);
  model.eval();
  noGrad(() => {
    for (let from = 0; from < idx.length; from += batchSize) {
      const to = Math.min(idx.length, from + batchSize);
      out.set(servingLogit(model.forward(gatherer.gather(idx, from, to))).data, from);
      endStep();
    }
  });
  return out;
}
