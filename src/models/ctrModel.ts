import type { Batch } from '../data/batch.js';
import type { FeatureInfo } from '../data/features.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';

/** Logits and the representation [size, d] of each row that the output layer reads. */
export interface RepresentedOutput {
  logits: Tensor;
  representation: Tensor;
}

/**
 * Every CTR model maps a batch to its logits: one per row ([size]), or two per row
 * ([size, 2], JRC's [z⁰, z¹]) for a model built with a two-logit head.
 */
export abstract class CTRModel extends Module {
  abstract readonly kind: string;
  abstract forward(batch: Batch): Tensor;

  /**
   * forward() with the hidden representation the logits are computed from, for losses on
   * representations (contrastive). Only models with hidden layers (dnn, dcnv2) have one.
   */
  forwardWithRepresentation?(batch: Batch): RepresentedOutput;

  /**
   * The named features a model built over the batch's feature layout reads (DIN, two-tower, Q·U);
   * undefined for models that read fields by position. The runner saves it with the model file.
   */
  get featureLayout(): readonly FeatureInfo[] | undefined {
    return undefined;
  }

  /** Logits per row that forward emits (1, or 2 for a two-logit head). */
  get logitsPerRow(): number {
    return 1;
  }
}
