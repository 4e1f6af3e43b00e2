/**
 * What a training step minimises and on which rows: the configured loss (weighted BCE when none)
 * on the student's logits, watched by the gradient probes, plus the terms on those logits (the
 * bias constraints) and the distillation terms; batches keep lists whole where a loss compares
 * rows within a list. Multi-task weighting is src/experiment/taskTraining.ts.
 */
import { add } from '../autograd/ops/elementwise.js';
import { GroupBatches, ShuffledBatches, type BatchSource } from '../data/batching.js';
import type { Batch } from '../data/batch.js';
import { combineLosses } from '../losses/combined.js';
import { createLoss, keepsListsWhole, needsRepresentation } from '../losses/registry.js';
import { weightedBce } from '../losses/weightedBce.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { Tensor } from '../tensor/tensor.js';
import { createBiasConstraintTerm, type BiasConstraintTerm } from './biasConstraintTerm.js';
import type { ExperimentConfig } from './config.js';
import { distillListwise } from './distillConfig.js';
import { trainingProbes, type TrainingProbes } from './probes.js';
import { distillationTerms } from './teacher.js';
import type { TrainData } from './trainData.js';
import type { TrainNetwork } from './trainNetwork.js';
import { sliceLabel } from './trainReport.js';

export interface Objective {
  loss: (m: CTRModel, b: Batch) => Tensor;
  batches: BatchSource;
  probes: TrainingProbes | null;
  biasTerm: BiasConstraintTerm | undefined;
}

/** `step`: the optimiser's step count, which curricula and distillation schedules read. */
export function createObjective(cfg: ExperimentConfig, data: TrainData, net: TrainNetwork, step: () => number): Objective {
  const { ds, split, fitted } = data;
  const distill = cfg.train.distill;
  const lossCfg = cfg.train.loss;
  const loss = lossCfg ? createLoss(lossCfg) : null;
  const probes = cfg.train.probes ? trainingProbes(net.student, cfg.train.logEvery) : null;
  const watch = (z: Tensor, b: Batch): Tensor => (probes ? probes.watch(z, b.labels) : z);
  const mainLoss = (m: CTRModel, b: Batch): { z: Tensor; value: Tensor } => {
    // A contrastive loss reads the hidden representation; the config check guarantees the model has one.
    const out = lossCfg !== undefined && needsRepresentation(lossCfg.type) ? m.forwardWithRepresentation!(b) : { logits: m.forward(b), representation: undefined };
    const z = watch(out.logits, b);
    const value = loss ? loss(z, b, { step: step(), ...(out.representation && { representation: out.representation }) }) : weightedBce(z, b);
    return { z, value };
  };
  const biasTerm = cfg.train.biasConstraints
    && createBiasConstraintTerm(cfg.train.biasConstraints, ds, fitted.spec.fields, split.fit, (j, local) => sliceLabel(fitted.spec.fields[j]!, local));
  // Terms on the logits added to the configured loss (today: the bias constraints).
  const logitTerms = biasTerm ? [biasTerm.term] : [];
  const distillTerms = distill && distillationTerms(distill, net.teacher, step);
  const lossFn = (m: CTRModel, b: Batch): Tensor => {
    const { z, value } = mainLoss(m, b);
    const total = logitTerms.reduce((acc, t) => add(acc, t(z, b)), value);
    return distillTerms ? combineLosses([{ loss: total, weight: 1 }, ...distillTerms(z, b)]) : total;
  };
  // List losses compare rows within a list: whole lists per batch when the data has them
  // (data.group), else the batch is the list (the KDD'24 setting on Criteo).
  const groupLists = (lossCfg !== undefined && keepsListsWhole(lossCfg)) || distillListwise(distill);
  const batches = net.trainDs.groupOffsets && groupLists
    ? new GroupBatches(net.trainDs, split.fit, cfg.train.batchSize)
    : new ShuffledBatches(net.trainDs, split.fit, cfg.train.batchSize);
  return { loss: lossFn, batches, probes, biasTerm };
}
