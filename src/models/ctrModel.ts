import type { Batch } from '../data/batch.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';

/** Every CTR model maps a batch to one logit per row ([size]). */
export abstract class CTRModel extends Module {
  abstract readonly kind: string;
  abstract forward(batch: Batch): Tensor;
}
