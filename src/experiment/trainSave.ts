/**
 * The model directory a training run writes (manifest + safetensors, what `predict`, `eval` and
 * `serve` load): the model as trained, its schema, metrics, calibration, sampling, tasks,
 * distillation and provenance.
 */
import { join } from 'node:path';
import { backend } from '../backend/index.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { ModelConfig, ModelDims } from '../models/registry.js';
import { saveModel, type JsonValue } from '../io/modelFile.js';
import { dataHash } from '../io/provenance.js';
import { csvFirstRecord, dataRowFiles } from '../schema/index.js';
import type { ExperimentConfig } from './config.js';
import { savedSchema } from './savedSchema.js';
import { taskRecords } from './tasks.js';
import { distillationRecord } from './teacher.js';
import type { TrainData } from './trainData.js';
import type { Evaluation, FinalEvaluation } from './trainEvaluation.js';
import type { RunSettings } from './trainStart.js';

export interface SavedRun {
  modelDir: string;
  /** The manifest's metrics: validation_*, test_*, test_calibrated_*. */
  metrics: Record<string, number | null>;
  /** Which kernels ran, with how many threads (also in the provenance). */
  backend: { name: 'native' | 'reference'; threads: number };
}

export interface SavedModel {
  model: CTRModel;
  modelConfig: ModelConfig;
  dims: ModelDims;
}

export async function saveTrainedModel(cfg: ExperimentConfig, run: RunSettings, data: TrainData, saved: SavedModel, evaluation: Evaluation, final: FinalEvaluation): Promise<SavedRun> {
  const modelDir = join(run.output, 'model');
  const sources = dataRowFiles(cfg.data, cfg.baseDir);
  const metrics: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(final.validation)) metrics[`validation_${k}`] = v;
  for (const [k, v] of Object.entries(final.test)) metrics[`test_${k}`] = v;
  for (const [k, v] of Object.entries(final.testCalibrated ?? {})) metrics[`test_calibrated_${k}`] = v;
  // A CSV's header is recorded so that a headerless later slice of the same log can be scored.
  const src = cfg.data.source;
  const columns = src.format === 'csv' && src.header ? await csvFirstRecord(src, sources[0]!) : undefined;
  const kernels = { name: backend().name, threads: backend().getThreads() };
  const distill = cfg.train.distill;
  saveModel(modelDir, {
    model: saved.model, modelConfig: saved.modelConfig, schema: savedSchema(data.fitted, cfg, columns), metrics,
    provenance: {
      dataHash: dataHash(sources), seed: run.seed, createdBy: `ctrkit train ${cfg.file}`, trainRows: data.fitRows,
      backend: kernels.name, threads: kernels.threads,
    },
    calibration: final.calibrator ? (final.calibrator.toJSON() as unknown as JsonValue) : undefined,
    sampling: data.sampling,
    evaluation: evaluation.record,
    dims: saved.dims,
    ...(data.taskPath && { tasks: taskRecords(data.tasks) }),
    ...(data.taught && distill && { distillation: distillationRecord(distill, data.taught.record) as unknown as JsonValue }),
  });
  return { modelDir, metrics, backend: kernels };
}
