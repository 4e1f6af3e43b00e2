/** Batched inference over a dataset's rows, without recording gradients. */
import type { Dataset } from '../data/dataset.js';
import { RowGatherer, type Rows } from '../data/batching.js';
import { MultiTaskModel, ONE_HEAD, type CTRModel } from '../models/ctrModel.js';
import { noGrad, endStep } from '../autograd/tape.js';
import { servingLogit } from '../models/servingLogit.js';

/**
 * Logits of the given rows (an index list, or a range [start, end)), in that order; a two-logit
 * model gives z¹ − z⁰ per row (servingLogit).
 */
export function predictRows(model: CTRModel, ds: Dataset, rows: Int32Array | Rows, batchSize = 4096): Float32Array {
  if (model instanceof MultiTaskModel) throw new Error(`predictRows: ${model.kind} has several heads (${model.heads.join(', ')}): use predictHeads`);
  return predictHeads(model, ds, rows, batchSize).get(ONE_HEAD)!;
}

/**
 * Each head's logits of the given rows, by head name (ONE_HEAD for a one-output model; see
 * headKey).
 */
export function predictHeads(model: CTRModel, ds: Dataset, rows: Int32Array | Rows, batchSize = 4096): Map<string, Float32Array> {
  const idx = rows instanceof Int32Array ? rows : Int32Array.from({ length: rows.end - rows.start }, (_, i) => rows.start + i);
  const heads = model instanceof MultiTaskModel ? model.heads : [ONE_HEAD];
  const out = new Map(heads.map((h) => [h, new Float32Array(idx.length)]));
  const gatherer = new RowGatherer(ds);
  model.eval();
  noGrad(() => {
    for (let from = 0; from < idx.length; from += batchSize) {
      const to = Math.min(idx.length, from + batchSize);
      const batch = gatherer.gather(idx, from, to);
      if (model instanceof MultiTaskModel) {
        const z = model.forwardHeads(batch);
        for (const h of heads) out.get(h)!.set(z[h]!.data, from);
      } else {
        out.get(ONE_HEAD)!.set(servingLogit(model.forward(batch)).data, from);
      }
      endStep();
    }
  });
  return out;
}
