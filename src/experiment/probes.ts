/**
 * Gradient probes of a training run (`train.probes: true`): which tensors of a model are its
 * bottom layers, and the trainer hook that logs them. The bottom layers are found by parameter
 * name, so every model built from src/nn gets them without model-specific code:
 *   embedding rows (all trainable tables) → grad_emb_mean / grad_emb_p90;
 *   first MLP layer   (mlp.layers.0.W, or U when low-rank)   → grad_mlp0_mean / _p90;
 *   first cross layer (cross.layers.0.W, or U when low-rank) → grad_cross0_mean / _p90.
 * Probing costs row norms over those gradients, so it runs only on the steps the log writes.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { CTRModel } from '../models/ctrModel.js';
import { GradientProbe, type ProbeRecord } from '../losses/gradientProbes.js';
import type { StepInfo } from '../train/trainer.js';

/** The first dense layers probed, by record name (mlp0, cross0) → their weight. */
export function bottomLayers(model: CTRModel): Record<string, Tensor> {
  const params = new Map(model.namedParameters());
  const out: Record<string, Tensor> = {};
  for (const [name, prefix] of [['mlp0', 'mlp.layers.0.'], ['cross0', 'cross.layers.0.']] as const) {
    const w = params.get(`${prefix}W`) ?? params.get(`${prefix}U`);
    if (w) out[name] = w;
  }
  return out;
}

export interface TrainingProbes {
  /** Wraps the model's logits inside the loss (their gradient is captured). */
  watch(z: Tensor, labels: Float32Array): Tensor;
  /** Trainer afterStep hook: the probe record on every `everySteps`-th global step. */
  afterStep(info: StepInfo): ProbeRecord | void;
}

export function trainingProbes(model: CTRModel, everySteps: number): TrainingProbes {
  const probe = new GradientProbe({ embeddings: model.tables(), layers: bottomLayers(model) });
  return {
    watch: (z, labels) => probe.watch(z, labels),
    afterStep: (info) => (info.globalStep % everySteps === 0 ? probe.read() : undefined),
  };
}
