/**
 * An experiment config file (YAML or JSON): `data` (feature schema and source, src/schema),
 * `model` (src/models/registry), `train` (below) and `output` (a directory). One runner
 * serves every model: there is no per-model script.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfigFile, parseDataConfig, type DataConfig } from '../schema/index.js';
import { fixedHeads, hasRepresentation, isMultiTaskType, modelTypesWhere, parseModelConfig, type ModelConfig } from '../models/registry.js';
import { parseOptimizerConfig, type OptimizerConfig } from '../optim/registry.js';
import { LossConfigError, parseLossConfig, type LossConfig } from '../losses/registry.js';
import { checkDistill, parseDistillSection, type DistillRunConfig } from './distillConfig.js';
import { parseMultiTaskConfig, type MultiTaskConfig } from '../train/multitask/registry.js';
import { checkSearch, parseSearchConfig, type SearchConfig } from './search.js';
import { checkOnline, onlineSchema } from './onlineConfig.js';
import { checkSampling } from './samplingConfig.js';

/**
 * In-training calibration by bias constraints (src/calibrate/biasConstraints.ts): one dual
 * variable λ per slice, either the pCTR deciles (buckets) of each batch's current predictions or
 * the most frequent values of a categorical field (other values belong to no slice).
 */
const biasConstraintsSchema = z.strictObject({
  slices: z.discriminatedUnion('by', [
    z.strictObject({ by: z.literal('pctr'), buckets: z.number().int().min(2).default(10) }),
    z.strictObject({ by: z.literal('field'), field: z.string().min(1), top: z.number().int().positive().default(10) }),
  ], { error: "slices.by must be 'pctr' or 'field'" }),
  /** Learning rate of the ascent on λ. */
  lr: z.number().positive(),
  /** α₃ > 0: the −(α₃/2)λ² regulariser that bounds λ. */
  alpha: z.number().positive().default(1),
  /** Steps before λ starts, then steps over which its effect ramps in. */
  rampStart: z.number().int().min(0).default(0),
  rampSteps: z.number().int().min(0).default(0),
});

export type BiasConstraintsConfig = z.output<typeof biasConstraintsSchema>;

/** One task of train.tasks (see src/experiment/tasks.ts). */
const taskSchema = z.strictObject({
  /** The task's name (in metrics, predictions and logs). */
  name: z.string().min(1),
  /**
   * The model head it reads (default: its name). Heads of shared-bottom / mmoe / ple / snr are the
   * tasks' heads; esmm has ctr, cvr, ctcvr. Two tasks may read one head, e.g. a sale head judged on
   * every display and on clicked ones.
   */
  head: z.string().min(1).optional(),
  /** data.labels name of its label (default: the task's name). */
  label: z.string().min(1).optional(),
  /** Only rows where this label is 1 (e.g. CVR on clicks). */
  on: z.string().min(1).optional(),
  /** Static weight of its loss; 0 = evaluated, not trained. */
  weight: z.number().min(0).finite().default(1),
  loss: z.unknown().optional(),
});

export type TaskConfig = Omit<z.output<typeof taskSchema>, 'loss'> & { loss?: LossConfig };

const trainSchema = z.strictObject({
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  seed: z.number().int().min(0).default(1),
  /**
   * Seed of the model's initial weights only (default: seed, which then also orders the batches
   * and draws dropout masks): two runs with the same initSeed and different seeds differ only in
   * data order (the reproducibility study's second axis, SPEC §8).
   */
  initSeed: z.number().int().min(0).optional(),
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
  biasConstraints: biasConstraintsSchema.optional(),
  /** Several tasks (multi-task), or one task restricted to some rows; absent = one task, the first label. */
  tasks: z.array(taskSchema).min(1).optional(),
  /** How the tasks' losses / gradients combine (src/train/multitask); default static weights. */
  multitask: z.unknown().optional(),
  /** Weights of the tasks whose validationMetric picks the epoch (default: every trained task equally). */
  validationTasks: z.record(z.string(), z.number().positive()).optional(),
  /** Efficiency search over the dcnv2 model's sizes (src/experiment/search.ts, docs/search.md). */
  search: z.unknown().optional(),
  /** Distillation from a teacher (src/experiment/distillConfig.ts, docs/distillation.md). */
  distill: z.unknown().optional(),
  /** Train on a stream with progressive validation (src/experiment/onlineConfig.ts). */
  online: onlineSchema.optional(),
});

export interface TrainConfig extends Omit<z.output<typeof trainSchema>, 'optimizer' | 'loss' | 'tasks' | 'multitask' | 'distill' | 'search'> {
  optimizer: OptimizerConfig;
  distill?: DistillRunConfig;
  search?: SearchConfig;
  loss?: LossConfig;
  tasks?: TaskConfig[];
  multitask?: MultiTaskConfig;
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
  return new ConfigError([`${[where, ...i.path.map(String)].join('.')}: ${i.message}`]);
}

/** Losses whose main term is BCE on the label (all but the pure ranking ones at α = 0). */
function trainsBce(loss: LossConfig | undefined): boolean {
  if (loss === undefined || loss.type === 'bce' || loss.type === 'focal') return true;
  // A curriculum starts at full BCE weight whatever α is (src/losses/curriculum.ts).
  return (loss.alpha ?? 0.5) > 0 || loss.curriculum !== undefined;
}

/** DIN's named features, checked against data.fields before any data is read. */
function checkAttention(data: DataConfig, pairs: readonly { sequence: string; target: string }[], at: (path: string, msg: string) => void): void {
  // Id features: one embedding id per row (categorical, log-bucket or bucketized numeric).
  const isId = (f: DataConfig['fields'][number]): boolean => f.kind === 'categorical' || (f.kind === 'numeric' && (f.transform === 'log-bucket' || f.transform === 'bucketize'));
  const names = (keep: (f: DataConfig['fields'][number]) => boolean): string => data.fields.filter(keep).map((f) => f.name).join(', ') || 'none';
  pairs.forEach((p, i) => {
    const seq = data.fields.find((f) => f.name === p.sequence);
    if (seq?.kind !== 'sequence') {
      at(`model.attention[${i}].sequence`, `no sequence field ${JSON.stringify(p.sequence)} in data.fields (sequence fields: ${names((f) => f.kind === 'sequence')})`);
    }
    const target = data.fields.find((f) => f.name === p.target);
    if (target === undefined || !isId(target)) {
      at(`model.attention[${i}].target`, `no categorical field ${JSON.stringify(p.target)} in data.fields (id fields: ${names(isId)})`);
    }
  });
}

/** Every feature group a group-addressed model (twotower, qu) names must be some data field's `group`; keys are the config keys. */
function checkGroups(data: DataConfig, model: Record<string, readonly string[]>, at: (path: string, msg: string) => void): void {
  const groups = [...new Set(data.fields.flatMap((f) => (f.group === undefined ? [] : [f.group])))];
  for (const [key, list] of Object.entries(model)) {
    list.forEach((g, i) => {
      if (!groups.includes(g)) at(`model.${key}[${i}]`, `no feature group ${JSON.stringify(g)} in data.fields (groups: ${groups.join(', ') || 'none'})`);
    });
  }
}

const ONE_TASK_LOSSES: readonly string[] = ['bce', 'focal'];

/** train.tasks against the labels and the model's heads, and what multi-task training does not do. */
function checkTasks(data: DataConfig, model: ModelConfig, train: TrainConfig, at: (path: string, msg: string) => void): void {
  const labels = data.labels.map((l) => l.name);
  const multiHead = isMultiTaskType(model.type);
  const tasks = train.tasks;
  if (tasks === undefined) {
    if (multiHead) at('train.tasks', `model type '${model.type}' is multi-task: name its tasks (each a label, optional loss, weight, on)`);
    else if (labels.length > 1) at('data.labels', `${labels.length} labels (${labels.join(', ')}) but no train.tasks: name the tasks to train (one task trains one label; several need a multi-task model: ${modelTypesWhere(isMultiTaskType).join(', ')})`);
    if (train.multitask !== undefined) at('train.multitask', 'combines several tasks: set train.tasks');
    if (train.validationTasks !== undefined) at('train.validationTasks', 'weighs several tasks: set train.tasks');
    return;
  }
  const names = new Set<string>();
  tasks.forEach((t, i) => {
    if (names.has(t.name)) at(`train.tasks[${i}].name`, `task ${JSON.stringify(t.name)} is named twice`);
    names.add(t.name);
    const label = t.label ?? t.name;
    const spec = data.labels.find((l) => l.name === label);
    if (spec === undefined) at(`train.tasks[${i}].${t.label === undefined ? 'name' : 'label'}`, `no label ${JSON.stringify(label)} in data.labels (labels: ${labels.join(', ')})${t.label === undefined ? '; set label' : ''}`);
    else if (spec.type === 'graded' && spec.positive === undefined) at(`train.tasks[${i}].label`, `label ${label} is graded; a task trains a binary label (binarise it with positive)`);
    if (t.on !== undefined && !labels.includes(t.on)) at(`train.tasks[${i}].on`, `no label ${JSON.stringify(t.on)} in data.labels (labels: ${labels.join(', ')})`);
    if (t.on !== undefined && t.on === label) at(`train.tasks[${i}].on`, `the task's own label: its rows would all be positive`);
    if (t.loss !== undefined && !ONE_TASK_LOSSES.includes(t.loss.type)) at(`train.tasks[${i}].loss.type`, `'${t.loss.type}': a task's loss is one of ${ONE_TASK_LOSSES.join(', ')} (ranking losses need lists, which multi-task batches do not keep)`);
  });
  if (!tasks.some((t) => t.weight > 0)) at('train.tasks', 'every task has weight 0: nothing would be trained');
  if (train.loss !== undefined) at('train.loss', 'with train.tasks each task has its own loss (train.tasks[].loss)');
  const fixed = fixedHeads(model.type);
  const heads = new Set(tasks.map((t) => t.head ?? t.name));
  if (fixed) {
    tasks.forEach((t, i) => {
      const head = t.head ?? t.name;
      if (!fixed.includes(head)) at(`train.tasks[${i}].${t.head === undefined ? 'name' : 'head'}`, `model type '${model.type}' has heads ${fixed.join(', ')}; ${JSON.stringify(head)} is none of them${t.head === undefined ? ' (set head)' : ''}`);
    });
  } else if (multiHead && heads.size < 2) {
    at('train.tasks', `model type '${model.type}' shares layers between tasks: give it at least two heads`);
  } else if (!multiHead && heads.size > 1) {
    at('model.type', `'${model.type}' has one output, and train.tasks reads ${heads.size} heads (${[...heads].join(', ')}); use a multi-task model (${modelTypesWhere(isMultiTaskType).join(', ')})`);
  }
  if (train.multitask?.type === 'gradnorm' && model.type === 'esmm') {
    at('train.multitask.type', `'gradnorm' balances the tasks' gradients on the last layer they share, and esmm's CTR and CVR nets share only the embedding table; use shared-bottom, mmoe or ple`);
  }
    for (const k of Object.keys(train.validationTasks ?? {})) {
    if (!names.has(k)) at(`train.validationTasks.${k}`, `no task ${JSON.stringify(k)} in train.tasks (${[...names].join(', ')})`);
  }
  // What the task path does not do (bias constraints and probes read the first label on every row).
  if (train.biasConstraints !== undefined) at('train.biasConstraints', 'not supported with train.tasks');
  if (train.probes) at('train.probes', 'not supported with train.tasks (the probes watch the first label\'s logit)');
  if (tasks.length > 1 || multiHead) {
    if (train.calibration !== 'none') at('train.calibration', 'post-hoc calibration of a multi-task model is not supported: use none');
    if (train.validationMetric !== 'auc' && train.validationMetric !== 'logloss') at('train.validationMetric', `'${train.validationMetric}': a multi-task run picks its epoch by auc or logloss`);
  }
}

/**
 * Settings that validate one by one but that training cannot honour together; each would
 * otherwise train something other than what the config says, or fail at the first step.
 */
function checkTrainable(file: string, data: DataConfig, model: ModelConfig, train: TrainConfig): void {
  const problems: string[] = [];
  const at = (path: string, msg: string): void => void problems.push(`${file}: ${path}: ${msg}`);
  checkTasks(data, model, train, at);
  checkSearch(train, model, at);
  checkDistill(data, model, train, at);
  const firstTask = train.tasks?.[0];
  const label = firstTask === undefined ? data.labels[0] : data.labels.find((l) => l.name === (firstTask.label ?? firstTask.name));
  const loss = train.tasks === undefined ? train.loss : firstTask?.loss;
  const lossName = loss?.type ?? 'bce';
  const graded = label !== undefined && label.type === 'graded' && label.positive === undefined;
  if (graded && trainsBce(loss)) {
    at(loss === undefined ? 'train.loss' : 'train.loss.type', `loss '${lossName}' trains BCE on the label, which needs values in [0, 1], but label ${label.name} (column ${label.column ?? label.name}) is graded; `
      + `binarise it (data.labels[0].positive, e.g. { atLeast: 1 })${lossName === 'bce' || lossName === 'focal' ? '' : ' or set alpha: 0 (no BCE term)'}`);
  }
  const metric = train.validationMetric;
  if (graded && metric !== 'ndcg@10') {
    at('train.validationMetric', `'${metric}' needs a binary label, but label ${label.name} is graded; use ndcg@10`);
  }
  if ((metric === 'gauc' || metric === 'ndcg@10') && data.group === undefined) {
    at('train.validationMetric', `'${metric}' is computed per list: set data.group`);
  }
  if (loss?.type === 'combined-pair' && loss.pairs === 'group' && data.group === undefined) {
    at('train.loss.pairs', `'group' compares rows within lists: set data.group`);
  }
  const twoLogitHead = model.type === 'dnn' || model.type === 'dcnv2' ? model.logits : undefined;
  if (loss?.type === 'jrc' && twoLogitHead === 1) at('model.logits', `loss 'jrc' needs the two-logit head (model.logits: 2, or leave it unset)`);
  if (loss?.type === 'jrc' && model.type !== 'dnn' && model.type !== 'dcnv2') {
    at('train.loss.type', `'jrc' needs a two-logit model head (model.logits: 2, dnn or dcnv2), which model type '${model.type}' does not have`);
  }
  if (twoLogitHead === 2 && loss?.type !== 'jrc') at('model.logits', `2 is the JRC head; train it with train.loss: { type: jrc }`);
  if (loss?.type === 'contrastive' && !hasRepresentation(model.type)) {
    at('train.loss.type', `'contrastive' contrasts hidden representations, which model type '${model.type}' does not have; use ${modelTypesWhere(hasRepresentation).join(' or ')}`);
  }
  const bc = train.biasConstraints?.slices;
  if (bc?.by === 'field') {
    const f = data.fields.find((x) => x.name === bc.field);
    if (f?.kind !== 'categorical') {
      at('train.biasConstraints.slices.field', `no categorical field ${JSON.stringify(bc.field)} in data.fields (categorical fields: ${data.fields.filter((x) => x.kind === 'categorical').map((x) => x.name).join(', ') || 'none'})`);
    }
  }
  if (train.biasConstraints && loss?.type === 'jrc') at('train.biasConstraints', `constrains the one-logit CTR head; loss 'jrc' has two logits per row`);
  checkOnline(data, model, train, at);
  checkSampling(data, train, at);
  if (model.type === 'din') checkAttention(data, model.attention, at);
  if (model.type === 'twotower') checkGroups(data, { user: model.user, item: model.item, bias: model.bias }, at);
  if (model.type === 'qu') checkGroups(data, { q: model.q, u: model.u }, at);
  if (train.calibration !== 'none' && data.split.mode === 'files' && data.split.validation === undefined && data.split.fit === undefined) {
    at('train.calibration', `'${train.calibration}' is fit on the validation rows: give data.split.validation or data.split.fit`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
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
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError([`${file}: expected a mapping with data, model, train and output`]);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!['data', 'model', 'train', 'output'].includes(k)) throw new ConfigError([`${file}: unknown top-level key '${k}' (expected data, model, train, output)`]);
  }
  const data = parseDataConfig(obj.data, file);
  const model = parseModelConfig(obj.model, `${file}: model`);
  const t = trainSchema.safeParse(obj.train);
  if (!t.success) throw issue(`${file}: train`, t.error);
  const optimizer = parseOptimizerConfig(t.data.optimizer, `${file}: train.optimizer`);
  const lossAt = (input: unknown, where: string): LossConfig => {
    try {
      return parseLossConfig(input);
    } catch (e) {
      if (!(e instanceof LossConfigError)) throw e;
      throw new ConfigError(e.problems.map((p) => `${file}: ${[where, p.path].filter(Boolean).join('.')}: ${p.message}`));
    }
  };
  if (typeof obj.output !== 'string' || obj.output === '') throw new ConfigError([`${file}: output: expected a directory path`]);
  const loss = t.data.loss === undefined ? undefined : lossAt(t.data.loss, 'train.loss');
  const tasks = t.data.tasks?.map(({ loss: l, ...task }, i) => ({ ...task, ...(l !== undefined && { loss: lossAt(l, `train.tasks[${i}].loss`) }) }));
  const multitask = t.data.multitask === undefined ? undefined : parseMultiTaskConfig(t.data.multitask, `${file}: train.multitask`);
  const search = t.data.search === undefined ? undefined : parseSearchConfig(t.data.search, `${file}: train.search`);
  const distill = t.data.distill === undefined ? undefined
    : parseDistillSection(t.data.distill, (problems) => { throw new ConfigError(problems.map((p) => `${file}: ${p}`)); });
  const { optimizer: _o, loss: _l, tasks: _t, multitask: _m, distill: _d, search: _s, ...rest } = t.data;
  const train: TrainConfig = { ...rest, optimizer, loss, ...(tasks && { tasks }), ...(multitask && { multitask }), ...(distill && { distill }), ...(search && { search }) };
  checkTrainable(file, data, model, train);
  return {
    data, model, train, output: obj.output,
    baseDir: baseDir ?? process.cwd(), file: resolve(file),
  };
}
