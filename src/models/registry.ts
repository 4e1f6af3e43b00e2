/**
 * The `model` section of an experiment config, and the one place that turns it into a model.
 * Model files store the resolved section and re-create the model through `createModel`, so a
 * config that trains a model is also exactly what loads it back.
 *
 * Defaults (applied when a field is omitted):
 *   dim 16 · hidden [400, 400, 400] · activation 'relu' · dropout 0 · crossLayers 3 ·
 *   structure 'parallel' · initStd 1e-4 (embedding init std) · smeluBeta 1 ·
 *   rank / crossRank unset (full-rank layers) · logits unset (= 1) · crossRamp unset (no
 *   ramp) · rezero unset (off).
 *
 * dcnv2's smeluBeta, rank, crossRamp and rezero are optional rather than defaulted, like
 * `logits`: configs that do not set them resolve, and their model files store, what they did
 * before these settings existed.
 *
 * `logits: 2` (dnn, dcnv2) gives the final layer two outputs per row, [z⁰, z¹], the head the
 * JRC loss trains; predictions then use z¹ − z⁰ as the row's logit (see servingLogit.ts).
 *
 * A field the chosen type does not use (e.g. `crossLayers` for 'dnn', `dim` for 'lr') is an
 * error rather than silently ignored: a hyper-parameter that has no effect makes an
 * experiment differ from what its config claims.
 */
import { z } from 'zod';
import { ConfigError } from '../schema/errors.js';
import type { CTRModel } from './ctrModel.js';
import { DCNv2 } from './dcnv2.js';
import { DIN } from './din.js';
import { DNN } from './dnn.js';
import { ESMM, ESMM_HEADS } from './esmm.js';
import { FeatureLookupError, type FeatureInfo } from '../data/features.js';
import { FM } from './fm.js';
import { LR } from './lr.js';
import { MMoE } from './mmoe.js';
import { PLE } from './ple.js';
import { QU } from './qu.js';
import { SharedBottom } from './sharedBottom.js';
import { SNR, SNR_VARIANTS } from './snr.js';
import { TwoTower } from './twoTower.js';

export const MODEL_TYPES = ['lr', 'fm', 'dnn', 'dcnv2', 'din', 'twotower', 'qu', 'shared-bottom', 'mmoe', 'ple', 'snr', 'esmm'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/**
 * What each model type offers, declared once, for the checks that run before any model exists
 * (config validation, the runner): `heads` is 'one' (a single output), 'tasks' (a MultiTaskModel
 * with one head per configured task) or the fixed head names of a MultiTaskModel; `representation`
 * marks the types with forwardWithRepresentation (hidden layers to take a representation from).
 */
const TRAITS: Readonly<Record<ModelType, { heads: 'one' | 'tasks' | readonly string[]; representation?: true }>> = {
  lr: { heads: 'one' }, fm: { heads: 'one' }, dnn: { heads: 'one', representation: true }, dcnv2: { heads: 'one', representation: true },
  din: { heads: 'one' }, twotower: { heads: 'one' }, qu: { heads: 'one' },
  'shared-bottom': { heads: 'tasks' }, mmoe: { heads: 'tasks' }, ple: { heads: 'tasks' }, snr: { heads: 'tasks' }, esmm: { heads: ESMM_HEADS },
};

/** Several named heads (MultiTaskModel): one per task, or fixed ones. */
export function isMultiTaskType(type: ModelType): boolean {
  return TRAITS[type].heads !== 'one';
}

/** Heads named by the configured tasks (the model is built with dims.tasks). */
export function headsAreTasks(type: ModelType): boolean {
  return TRAITS[type].heads === 'tasks';
}

/** The head names of a multi-task type whose heads do not follow the tasks (esmm), else undefined. */
export function fixedHeads(type: ModelType): readonly string[] | undefined {
  const h = TRAITS[type].heads;
  return typeof h === 'string' ? undefined : h;
}

/** Has forwardWithRepresentation (contrastive losses, distillation from a representation). */
export function hasRepresentation(type: ModelType): boolean {
  return TRAITS[type].representation === true;
}

/** The types with a trait, for messages ("use one of …"). */
export function modelTypesWhere(trait: (type: ModelType) => boolean): ModelType[] {
  return MODEL_TYPES.filter(trait);
}

const positiveInt = z.number().int().positive();
const initStd = z.number().positive().finite().default(1e-4);
const dim = positiveInt.default(16);
const hidden = z.array(positiveInt).default([400, 400, 400]);
const activation = z.enum(['relu', 'sigmoid', 'tanh', 'smelu', 'none']).default('relu');
const smeluBeta = z.number().positive().finite();
const dropout = z.number().min(0).lt(1).default(0);
// Optional rather than defaulted: one-logit configs (and the model files storing them) stay as they were.
const logits = z.union([z.literal(1), z.literal(2)]).optional();
/**
 * Settings of every multi-task network, defaults as the PyTorch anchor's (bench torch_mtl_ref.py):
 * bottoms / experts MLP 256-128, towers 64-1.
 */
const multiTask = {
  dim, tower: z.array(positiveInt).default([64]), activation, smeluBeta: smeluBeta.optional(), dropout,
  rank: positiveInt.optional(), initStd,
};
const multiTaskHidden = z.array(positiveInt).min(1).default([256, 128]);

/** Zod schema of the `model` section; parsing yields the resolved config (defaults filled). */
export const modelConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('lr'), initStd }),
  z.strictObject({ type: z.literal('fm'), dim, initStd }),
  z.strictObject({
    type: z.literal('dnn'), dim, hidden, activation, smeluBeta: smeluBeta.default(1), dropout,
    rank: positiveInt.optional(), initStd, logits, wide: z.boolean().optional(),
  }).refine((c) => !(c.wide && c.logits === 2), { path: ['wide'], message: 'wide adds to a one-logit head; it cannot be combined with logits: 2' }),
  z.strictObject({
    type: z.literal('din'), dim, hidden: z.array(positiveInt).default([200, 80]), activation, dropout, initStd,
    /** Behaviour sequence → its target id field, by feature name. */
    attention: z.array(z.strictObject({ sequence: z.string().min(1), target: z.string().min(1) })).min(1),
    attentionHidden: z.array(positiveInt).min(1).default([36]),
    attentionActivation: activation,
    maxLen: positiveInt.optional(),
  }),
  z.strictObject({
    type: z.literal('twotower'), dim, activation, dropout, initStd,
    /** Feature groups (data.fields[].group) of the user/query tower, the item tower and the bias net. */
    user: z.array(z.string().min(1)).min(1),
    item: z.array(z.string().min(1)).min(1),
    bias: z.array(z.string().min(1)).default([]),
    towerHidden: z.array(positiveInt).default([128, 64]),
    outDim: positiveInt.default(32),
    biasHidden: z.array(positiveInt).default([32]),
  }),
  z.strictObject({
    type: z.literal('qu'), dim, activation, dropout, initStd,
    /** Feature groups of the query/ad net Q and of the UI-treatment net U. */
    q: z.array(z.string().min(1)).min(1),
    u: z.array(z.string().min(1)).min(1),
    qHidden: z.array(positiveInt).default([128, 64]),
    uHidden: z.array(positiveInt).default([16]),
    outDim: positiveInt.default(16),
  }),
  z.strictObject({
    type: z.literal('dcnv2'), dim, hidden, activation, smeluBeta: smeluBeta.optional(), dropout, rank: positiveInt.optional(),
    crossLayers: positiveInt.default(3), crossRank: positiveInt.optional(), crossRamp: positiveInt.optional(),
    rezero: z.boolean().optional(), structure: z.enum(['parallel', 'stacked']).default('parallel'), initStd, logits,
  }),
  z.strictObject({ type: z.literal('shared-bottom'), ...multiTask, bottom: multiTaskHidden }),
  z.strictObject({ type: z.literal('mmoe'), ...multiTask, experts: positiveInt.default(8), expert: multiTaskHidden }),
  z.strictObject({
    type: z.literal('ple'), ...multiTask, levels: positiveInt.default(2), taskExperts: positiveInt.default(2),
    sharedExperts: positiveInt.default(2), expert: multiTaskHidden,
  }),
  z.strictObject({
    // 4 sub-networks of 256 then 128 (SNR-Trans): about 0.8× MMoE's 8 experts of 256-128 in multiply-adds.
    // Gates start open (log α 3: ẑ = 1): on census, log α 0 (ẑ = 0.5, noisy z) cost ~0.002 income AUC.
    type: z.literal('snr'), ...multiTask, variant: z.enum(SNR_VARIANTS).default('trans'), subnetworks: positiveInt.default(4),
    widths: multiTaskHidden, l0: z.number().min(0).finite().default(1e-3), temperature: z.number().positive().finite().default(2 / 3),
    gateInit: z.number().finite().default(3),
    // Optional rather than defaulted: model files of SNR runs without it stay as they were.
    gateLr: z.number().positive().finite().optional(),
  }),
  z.strictObject({ type: z.literal('esmm'), ...multiTask, bottom: multiTaskHidden }),
]);

/** A resolved `model` section (what parseModelConfig returns and model files store). */
export type ModelConfig = z.output<typeof modelConfigSchema>;
/** The `model` section as written in a config (optional fields may be omitted). */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

export interface ModelDims {
  /** Rows of the shared embedding table (all fields' vocabularies). */
  numIds: number;
  /** Fields per row; required by 'dnn' and 'dcnv2' (it sizes their first layer), unused by 'lr' and 'fm'. */
  numFields?: number;
  /** Dense numeric features per row (default 0). */
  denseDim?: number;
  /** Multi-hot / sequence fields (default 0). */
  numSequences?: number;
  /** Every feature by name (FittedSchema.features()); required by the models that address features by name (din, twotower, qu). */
  features?: FeatureInfo[];
  /** Task names (train.tasks), in order; required by the models whose heads are the tasks (shared-bottom, mmoe, ple, snr). */
  tasks?: string[];
}

/** One readable line per problem, e.g. `model.type: expected one of lr, fm, dnn, dcnv2`. */
function describeIssue(issue: z.core.$ZodIssue, where: string, type: unknown): string {
  const at = [where, ...issue.path.map(String)].join('.');
  switch (issue.code) {
    case 'invalid_union':
      return `${at}: expected one of ${MODEL_TYPES.join(', ')}${type === undefined ? ' (missing)' : `, got ${JSON.stringify(type)}`}`;
    case 'invalid_value':
      return `${at}: expected one of ${issue.values.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return issue.keys.map((k) => `${at}.${k}: not a setting of model type '${String(type)}'`).join('; ');
    default:
      return `${at}: ${issue.message}`;
  }
}

/** Validates a `model` section; `where` prefixes error paths (e.g. 'model' or 'config.yaml: model'). */
export function parseModelConfig(obj: unknown, where = 'model'): ModelConfig {
  const r = modelConfigSchema.safeParse(obj);
  if (r.success) return r.data;
  const type = typeof obj === 'object' && obj !== null ? (obj as { type?: unknown }).type : undefined;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ConfigError([`${where}: expected an object with a 'type' field`]);
  throw new ConfigError(r.error.issues.map((i) => describeIssue(i, where, type)));
}

/** The task names a task-headed model is built with: two or more, distinct. */
function taskNames(type: string, tasks: readonly string[] | undefined): string[] {
  const problem = (what: string): ConfigError =>
    new ConfigError([`model.type: '${type}' is a multi-task model, one head per task; it needs 2 or more tasks (train.tasks), got ${what}`]);
  if (tasks === undefined || tasks.length === 0) throw problem('none');
  if (tasks.length < 2) throw problem(`only ${JSON.stringify(tasks[0])}`);
  const twice = tasks.find((t, i) => tasks.indexOf(t) !== i);
  if (twice !== undefined) throw problem(`${JSON.stringify(twice)} twice`);
  return [...tasks];
}

/** Builds a freshly initialised model; `seed` fixes the initial weights. */
export function createModel(cfg: ModelConfig, dims: ModelDims, seed: number): CTRModel {
  const { numIds, numFields } = dims;
  const extra = { denseDim: dims.denseDim, numSequences: dims.numSequences };
  if (!Number.isInteger(numIds) || numIds < 1) throw new Error(`createModel: numIds must be a positive integer, got ${numIds}`);
  const fields = (): number => {
    if (numFields === undefined || !Number.isInteger(numFields) || numFields < 1) {
      throw new Error(`createModel: model type '${cfg.type}' needs numFields, a positive integer, got ${numFields}`);
    }
    return numFields;
  };
  /** A multi-task network's settings: the config's, without its type, over the data's dims. */
  const net = <C extends { type: string }>({ type: _type, ...settings }: C) => ({ numIds, numFields: fields(), seed, ...extra, ...settings });
  switch (cfg.type) {
    case 'lr':
      return new LR({ numIds, initStd: cfg.initStd, seed, ...extra });
    case 'fm':
      return new FM({ numIds, dim: cfg.dim, initStd: cfg.initStd, seed, ...extra });
    case 'dnn':
      return new DNN({
        numIds, numFields: fields(), dim: cfg.dim, hidden: cfg.hidden, activation: cfg.activation, smeluBeta: cfg.smeluBeta,
        dropout: cfg.dropout, rank: cfg.rank, initStd: cfg.initStd, logits: cfg.logits, wide: cfg.wide, seed, ...extra,
      });
    case 'din':
    case 'twotower':
    case 'qu': {
      if (dims.features === undefined) throw new Error(`createModel: model type '${cfg.type}' needs dims.features, the batch's feature layout`);
      try {
        if (cfg.type === 'twotower') {
          return new TwoTower({
            numIds, numFields: fields(), dim: cfg.dim, features: dims.features, user: cfg.user, item: cfg.item, bias: cfg.bias,
            towerHidden: cfg.towerHidden, outDim: cfg.outDim, biasHidden: cfg.biasHidden, activation: cfg.activation,
            dropout: cfg.dropout, initStd: cfg.initStd, seed, ...extra,
          });
        }
        if (cfg.type === 'qu') {
          return new QU({
            numIds, numFields: fields(), dim: cfg.dim, features: dims.features, q: cfg.q, u: cfg.u, qHidden: cfg.qHidden,
            uHidden: cfg.uHidden, outDim: cfg.outDim, activation: cfg.activation, dropout: cfg.dropout, initStd: cfg.initStd, seed, ...extra,
          });
        }
        return new DIN({
          numIds, numFields: fields(), dim: cfg.dim, features: dims.features, attention: cfg.attention, attentionHidden: cfg.attentionHidden,
          attentionActivation: cfg.attentionActivation, hidden: cfg.hidden, activation: cfg.activation, dropout: cfg.dropout,
          maxLen: cfg.maxLen, initStd: cfg.initStd, seed, ...extra,
        });
      } catch (e) {
        if (e instanceof FeatureLookupError) throw new ConfigError([`model.${e.message}`]);
        throw e;
      }
    }
    case 'dcnv2':
      return new DCNv2({
        numIds, numFields: fields(), dim: cfg.dim, hidden: cfg.hidden, activation: cfg.activation, smeluBeta: cfg.smeluBeta,
        dropout: cfg.dropout, rank: cfg.rank, crossLayers: cfg.crossLayers, crossRank: cfg.crossRank, crossRamp: cfg.crossRamp,
        rezero: cfg.rezero, structure: cfg.structure, initStd: cfg.initStd, logits: cfg.logits, seed, ...extra,
      });
    case 'esmm':
      return new ESMM(net(cfg));
    case 'shared-bottom':
      return new SharedBottom({ ...net(cfg), tasks: taskNames(cfg.type, dims.tasks) });
    case 'mmoe':
      return new MMoE({ ...net(cfg), tasks: taskNames(cfg.type, dims.tasks) });
    case 'ple':
      return new PLE({ ...net(cfg), tasks: taskNames(cfg.type, dims.tasks) });
    case 'snr':
      return new SNR({ ...net(cfg), tasks: taskNames(cfg.type, dims.tasks) });
  }
}
