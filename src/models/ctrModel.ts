import type { Batch } from '../data/batch.js';
import type { FeatureInfo } from '../data/features.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
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

  /**
   * A term of the model's own for the training loss (SNR's L0 penalty on its connection gates),
   * built from the parameters in the current step; null for none. Training adds it to the loss
   * (train/step.ts): to the combined task loss, or after the tasks' gradients are combined.
   */
  regularizer(): Tensor | null {
    return null;
  }

  /** Logits per row that forward emits (1, or 2 for a two-logit head). */
  get logitsPerRow(): number {
    return 1;
  }

  /**
   * The named outputs of a multi-task model (one logit per row each), in a fixed order; undefined
   * for a model with one output, whose forward() is its only head.
   */
  get heads(): readonly string[] | undefined {
    return undefined;
  }
}

/** Each head's logits, [size] per head, keyed by head name. */
export type HeadLogits = Readonly<Record<string, Tensor>>;

/**
 * A model with several named outputs (tasks): CTR, CVR, CTCVR, income, … Training pairs each
 * configured task with the head of the same name; predictions, metrics and serving report every
 * head. A multi-task model has no single output, so forward() is refused rather than guessed.
 */
export abstract class MultiTaskModel extends CTRModel {
  abstract override get heads(): readonly string[];
  abstract forwardHeads(batch: Batch): HeadLogits;

  /**
   * The parameters of the last layer that all tasks share (GradNorm balances the tasks'
   * gradient norms there). Empty when the model has no such layer.
   */
  abstract lastSharedLayer(): Parameter[];

  forward(_batch: Batch): Tensor {
    throw new Error(`${this.kind} is a multi-task model with heads ${this.heads.join(', ')}: use forwardHeads()`);
  }
}

/** The key of a one-output model's only head, which has no name of its own. */
export const ONE_HEAD = '';

/** Where a task's head is among a model's head logits: its name, or ONE_HEAD for a one-output model. */
export function headKey(model: CTRModel, head: string): string {
  return model instanceof MultiTaskModel ? head : ONE_HEAD;
}

/** A model's heads' logits for a batch: forwardHeads, or { [ONE_HEAD]: forward } for a one-output model. */
export function headLogits(model: CTRModel, batch: Batch): HeadLogits {
  return model instanceof MultiTaskModel ? model.forwardHeads(batch) : { [ONE_HEAD]: model.forward(batch) };
}
