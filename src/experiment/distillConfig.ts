/**
 * `train.distill`: the distillation term (src/losses/distillRegistry.ts) and where the teacher's
 * scores come from (`teacher:`), one of
 *   { model: DIR }            two-stage: a trained ctrkit model directory scores the rows once (cached);
 *   { model: <model section> } joint: a teacher trained in the same run on every feature, privileged ones included;
 *   { column: NAME }          external: a column of teacher probabilities in the data.
 * Checked against the data and model sections here, before any data is read.
 */
import { z } from 'zod';
import type { DataConfig } from '../schema/index.js';
import { isMultiTaskType, parseModelConfig, type ModelConfig } from '../models/registry.js';
import { LossConfigError } from '../losses/registry.js';
import { parseDistillConfig, type DistillConfig } from '../losses/distillRegistry.js';

export type TeacherConfig =
  | { kind: 'model'; dir: string }
  | { kind: 'joint'; model: ModelConfig }
  | { kind: 'column'; column: string };

export interface DistillRunConfig {
  /** The distillation term, as createDistillation takes it. */
  term: DistillConfig;
  teacher: TeacherConfig;
}

const teacherSchema = z.union([
  z.strictObject({ model: z.union([z.string().min(1), z.record(z.string(), z.unknown())]) }),
  z.strictObject({ column: z.string().min(1) }),
], { error: 'expected { model: DIR } (a trained teacher), { model: { type: … } } (a teacher trained jointly) or { column: NAME } (teacher probabilities in the data)' });

/** Throws ConfigError-shaped problems through `fail` (one line each, prefixed by the caller). */
export function parseDistillSection(raw: unknown, fail: (problems: string[]) => never): DistillRunConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(['train.distill: expected a mapping (type, beta, …, teacher)']);
  const { teacher: rawTeacher, ...rest } = raw as Record<string, unknown>;
  if (rawTeacher === undefined) fail(['train.distill.teacher: missing: { model: DIR }, { model: { type: … } } or { column: NAME }']);
  const t = teacherSchema.safeParse(rawTeacher);
  if (!t.success) fail([`train.distill.teacher: ${t.error.issues[0]!.message}`]);
  let term: DistillConfig;
  try {
    term = parseDistillConfig(rest);
  } catch (e) {
    if (!(e instanceof LossConfigError)) throw e;
    fail(e.problems.map((p) => `${['train.distill', p.path].filter(Boolean).join('.')}: ${p.message}`));
  }
  const v = t.data;
  let teacher: TeacherConfig;
  if ('column' in v) teacher = { kind: 'column', column: v.column };
  else if (typeof v.model === 'string') teacher = { kind: 'model', dir: v.model };
  else {
    try {
      teacher = { kind: 'joint', model: parseModelConfig(v.model, 'train.distill.teacher.model') };
    } catch (e) {
      fail([(e as Error).message.replace(/^[^:]*: (?=train\.distill)/, '')]);
    }
  }
  return { term, teacher };
}

/** The list types compare rows within a list. */
export function distillListwise(d: DistillRunConfig | undefined): boolean {
  return d !== undefined && d.term.type !== 'pointwise';
}

/** The column a `column` teacher is read from, as the hidden label that carries it through the build. */
export const TEACHER_LABEL = 'distill.teacher';

/** What the privileged flag, the teacher and the rest of the config must agree on. */
export function checkDistill(data: DataConfig, model: ModelConfig, train: { distill?: DistillRunConfig; tasks?: unknown; biasConstraints?: unknown; loss?: { type: string }; online?: unknown },
  at: (path: string, msg: string) => void): void {
  const privileged = data.fields.filter((f) => f.privileged);
  const d = train.distill;
  if (d === undefined) {
    privileged.forEach((f) => {
      at(`data.fields[${data.fields.indexOf(f)}].privileged`, `field ${f.name}: a privileged field is read by a teacher only, and there is none: set train.distill (or remove the flag)`);
    });
    return;
  }
  if (train.tasks !== undefined) at('train.distill', 'distillation of a multi-task run (train.tasks) is not supported');
  if (train.online !== undefined) at('train.distill', 'distillation of an online run (train.online) is not supported');
  if (train.loss?.type === 'jrc') at('train.distill', "the student's term reads one logit per row; loss 'jrc' has two");
  if (distillListwise(d) && (d.term.lists ?? 'group') === 'group' && data.group === undefined) {
    at('train.distill.type', `'${d.term.type}' distils within lists: set data.group (the list column), or lists: batch`);
  }
  const priv = new Set(privileged.map((f) => f.name));
  // A student never reads a privileged field: naming one in its model section is a contradiction.
  if (model.type === 'din') {
    model.attention.forEach((p, i) => {
      for (const k of ['sequence', 'target'] as const) if (priv.has(p[k])) at(`model.attention[${i}].${k}`, `field ${p[k]} is privileged: the student cannot read it`);
    });
  }
  const groups: Record<string, readonly string[]> = model.type === 'twotower' ? { user: model.user, item: model.item, bias: model.bias ?? [] }
    : model.type === 'qu' ? { q: model.q, u: model.u } : {};
  for (const [key, list] of Object.entries(groups)) {
    list.forEach((g, i) => {
      const members = data.fields.filter((f) => f.group === g);
      if (members.length > 0 && members.every((f) => f.privileged)) at(`model.${key}[${i}]`, `every field of group ${g} is privileged: the student would have none to read`);
    });
  }
  const isId = (f: DataConfig['fields'][number]): boolean => f.kind !== 'numeric' || f.transform === 'log-bucket' || f.transform === 'bucketize';
  const ids = data.fields.filter(isId);
  if (ids.length > 0 && ids.every((f) => f.privileged)) {
    at('data.fields', `every id field (${ids.map((f) => f.name).join(', ')}) is privileged: the student would have no embedding to read; keep one for it`);
  }
  data.fields.forEach((f, i) => {
    if (f.kind !== 'sequence' || f.vocab === undefined) return;
    const owner = data.fields.find((o) => o.name === f.vocab);
    if (owner !== undefined && owner.privileged !== f.privileged) {
      at(`data.fields[${i}].vocab`, `sequence ${f.name} shares the vocabulary of ${owner.name}, and only one of them is privileged: flag both or neither`);
    }
  });
  const t = d.teacher;
  if (t.kind === 'column') {
    const reader = data.fields.find((f) => !f.privileged && (f.column ?? f.name) === t.column);
    if (reader) at('train.distill.teacher.column', `column ${t.column} is read by the student's field ${reader.name}: the teacher's scores would be an input; mark the field privileged or drop it`);
    const label = data.labels.find((l) => (l.column ?? l.name) === t.column);
    if (label) at('train.distill.teacher.column', `column ${t.column} is label ${label.name}`);
  }
  if (t.kind === 'joint') {
    if (isMultiTaskType(t.model.type)) at('train.distill.teacher.model.type', `'${t.model.type}' is multi-task; a teacher gives one score per row`);
    if ((t.model.type === 'dnn' || t.model.type === 'dcnv2') && t.model.logits === 2) at('train.distill.teacher.model.logits', 'a teacher has one logit per row');
    if (train.biasConstraints !== undefined) at('train.biasConstraints', 'bias constraints with a jointly trained teacher are not supported');
  }
  if (t.kind === 'model' && data.split.mode === 'random') {
    at('train.distill.teacher.model', 'a teacher directory scores the data files in file order; split mode random reorders rows: use file-order or files');
  }
  if (t.kind === 'model' && (data.source.format === 'duckdb' || data.source.format === 'events')) {
    const why = data.source.format === 'duckdb' ? 'a duckdb query has none' : 'an event log is not one row per example (the examples are derived from it)';
    at('train.distill.teacher.model', `a teacher directory scores the rows of data files; ${why}: use a joint teacher or a teacher column`);
  }
}
