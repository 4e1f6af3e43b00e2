/**
 * An experiment config file (YAML or JSON): `data` (feature schema and source, src/schema),
 * `model` (src/models/registry), `train` (below) and `output` (a directory). One runner
 * serves every model: there is no per-model script.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, parseDataConfig, type DataConfig } from '../schema/index.js';
import { parseModelConfig, type ModelConfig } from '../models/registry.js';
import { parseOptimizerConfig, type OptimizerConfig } from '../optim/registry.js';
import { parseLossConfig, type LossConfig } from '../losses/registry.js';

const trainSchema = z.strictObject({
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  seed: z.number().int().min(0).default(1),
  optimizer: z.unknown(),
  loss: z.unknown().optional(),
  /** Metric on the validation rows that picks the best epoch (and drives early stopping). */
  validationMetric: z.enum(['auc', 'logloss', 'gauc', 'ndcg@10']).default('auc'),
  earlyStopping: z.strictObject({ patience: z.number().int().positive(), minDelta: z.number().min(0).optional() }).optional(),
  /** Save the 'last' checkpoint every N steps (it is always saved at epoch ends and on Ctrl-C). */
  checkpointEvery: z.number().int().positive().optional(),
  /** Post-hoc calibration fit on the validation rows and stored in the model file. */
  calibration: z.enum(['none', 'platt', 'isotonic']).default('none'),
  /**
   * Undo data.sampling in predictions (validation / test metrics, predict, eval) with the
   * closed-form correction of src/experiment/samplingCorrection.ts. Off: scores stay on the
   * sampled data's scale (e.g. when a later calibration step is to absorb the shift).
   */
  correctSampling: z.boolean().default(true),
  /** Native threads (default: the CPUs the process may use, see README Backends). */
  threads: z.number().int().positive().optional(),
  /** Write a step record to the JSONL log every N steps. */
  logEvery: z.number().int().positive().default(50),
  /**
   * Gradient probes (KDD'24 §2.3.4) in every logged step record: grad_neg_logit,
   * grad_pos_logit and the bottom layers' row-gradient norms (see src/experiment/probes.ts).
   */
  probes: z.boolean().default(false),
});

export interface TrainConfig extends Omit<z.output<typeof trainSchema>, 'optimizer' | 'loss'> {
  optimizer: OptimizerConfig;
  loss?: LossConfig;
}

export interface ExperimentConfig {
  data: DataConfig;
  model: ModelConfig;
  train: TrainConfig;
  /** Output directory (model, checkpoints, log), resolved against baseDir. */
  output: string;
  /** Directory relative data / output paths are resolved against. */
  baseDir: string;
  /** The config file it came from (for messages and provenance). */
  file: string;
}

function issue(where: string, e: z.ZodError): Error {
  const i = e.issues[0]!;
  return new Error(`${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
}

/**
 * Reads and validates a whole experiment config. Relative data and output paths resolve
 * against `baseDir` (default: the current directory — the examples run from the repository root).
 */
export async function loadExperimentConfig(file: string, baseDir?: string): Promise<ExperimentConfig> {
  return parseExperimentConfig(await loadConfigFile(file), file, baseDir);
}

/**
 * Validates an already-read config object (e.g. a base config with an experiment grid's
 * overrides applied); `file` names it in messages.
 */
export function parseExperimentConfig(raw: unknown, file: string, baseDir?: string): ExperimentConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: expected a mapping with data, model, train and output`);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!['data', 'model', 'train', 'output'].includes(k)) throw new Error(`${file}: unknown top-level key '${k}' (expected data, model, train, output)`);
  }
  const data = parseDataConfig(obj.data, `${file}: data`);
  const model = parseModelConfig(obj.model, `${file}: model`);
  const t = trainSchema.safeParse(obj.train);
  if (!t.success) throw issue(`${file}: train`, t.error);
  const optimizer = parseOptimizerConfig(t.data.optimizer, `${file}: train.optimizer`);
  let loss: LossConfig | undefined;
  if (t.data.loss !== undefined) {
    try {
      loss = parseLossConfig(t.data.loss);
    } catch (e) {
      throw new Error(`${file}: train.loss: ${(e as Error).message}`);
    }
  }
  if (typeof obj.output !== 'string' || obj.output === '') throw new Error(`${file}: output: expected a directory path`);
  const { optimizer: _o, loss: _l, ...rest } = t.data;
  return {
    data, model, train: { ...rest, optimizer, loss }, output: obj.output,
    baseDir: baseDir ?? process.cwd(), file: resolve(file),
  };
}
