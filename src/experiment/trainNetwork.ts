/**
 * The networks a training run builds: the configured model (or an efficiency search's
 * super-network) as the student, and a joint distillation teacher trained beside it.
 */
import type { Dataset } from '../data/dataset.js';
import { createModel, headsAreTasks, type ModelDims } from '../models/registry.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { ExperimentConfig } from './config.js';
import { startSearch, type SearchRun } from './search.js';
import { taskHeads } from './tasks.js';
import { createJointTeacher, JointDistillModel } from './teacher.js';
import type { TrainData } from './trainData.js';
import type { RunSettings } from './trainStart.js';

export interface TrainNetwork {
  search: SearchRun | null;
  /** The model being trained: the configured one, or a search's super-network. */
  student: CTRModel;
  /** The model file's dims (with the student's feature layout and task heads). */
  dims: ModelDims;
  teacher: CTRModel | undefined;
  /** What the trainer trains: the student, or the student with its joint teacher (on `trainDs`, the full rows). */
  trained: CTRModel;
  trainDs: Dataset;
}

export function buildNetwork(cfg: ExperimentConfig, run: RunSettings, data: TrainData): TrainNetwork {
  const { modelConfig, seed } = run;
  const { ds, split } = data;
  const positional: ModelDims = {
    numIds: ds.numIds, numFields: ds.numFields, denseDim: ds.denseNames?.length ?? 0, numSequences: ds.sequences?.length ?? 0,
  };
  // Multi-task models whose heads are the tasks are built (and re-built from the model file) with their names.
  const headTasks = headsAreTasks(modelConfig.type) ? { tasks: taskHeads(data.tasks) } : {};
  const search = cfg.train.search && modelConfig.type === 'dcnv2'
    ? startSearch({ search: cfg.train.search, model: modelConfig, dims: positional, seed, dataset: ds, validation: split.validation, fit: split.fit, batchSize: cfg.train.batchSize, optimizer: cfg.train.optimizer, probs: data.probs, file: cfg.file })
    : null;
  const student = search ? search.net : createModel(modelConfig, { ...positional, features: data.fitted.features(), ...headTasks }, cfg.train.initSeed ?? seed);
  // Only a model that reads features by name saves the layout: other model files stay as they were.
  const layout = student.featureLayout;
  const dims: ModelDims = { ...positional, ...(layout && { features: [...layout] }), ...headTasks };
  const distill = cfg.train.distill;
  const teacher = distill && createJointTeacher(distill, data.built.fitted, data.full, seed);
  const trained = teacher ? new JointDistillModel(teacher, student, data.projection) : student;
  return { search, student, dims, teacher, trained, trainDs: teacher ? data.full : ds };
}

/** A cross ramp longer than training never reaches full weight there, yet evaluation and serving use its final value. */
export function noteLongCrossRamp(run: RunSettings, train: ExperimentConfig['train'], fitBatchRows: number, note: (msg: string) => void): void {
  const ramp = run.modelConfig.type === 'dcnv2' ? run.modelConfig.crossRamp : undefined;
  const plannedSteps = train.epochs * Math.ceil(fitBatchRows / train.batchSize);
  if (ramp !== undefined && ramp > plannedSteps) {
    note(`ctrkit: model.crossRamp (${ramp} steps) is longer than training (about ${plannedSteps} steps): the cross terms never reach full weight in training, yet validation and the saved model use the ramp's final value 1`);
  }
}
