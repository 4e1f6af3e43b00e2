/**
 * What a model file keeps of the data section: the fitted schema (vocabularies, hash buckets,
 * numeric statistics), the source's format and, for a CSV with a header, the training file's
 * columns (so a headerless later slice of the same log can be read), so new files are read and
 * encoded exactly as the training data was.
 */
import { z } from 'zod';
import { FittedSchema, type SourceConfig } from '../schema/index.js';
import { SourceSchema } from '../schema/config.js';
import { ModelFileError, type JsonValue } from '../io/modelFile.js';
import type { ExperimentConfig } from './config.js';

export function savedSchema(fitted: FittedSchema, cfg: ExperimentConfig, columns?: readonly string[]): JsonValue {
  return { fitted: fitted.toJSON(), source: cfg.data.source, ...(columns && { columns }) } as unknown as JsonValue;
}

const saved = z.object({ fitted: z.unknown(), source: z.unknown(), columns: z.array(z.string()).optional() });

export interface SavedSchema {
  fitted: FittedSchema;
  source: SourceConfig;
  /** The training CSV's header (absent for other formats and for models saved before it was recorded). */
  columns?: string[];
}

/** The fitted schema, training source and columns of a model manifest's `schema`. */
export function readSavedSchema(schema: unknown, where: string): SavedSchema {
  const s = saved.safeParse(schema);
  if (!s.success) throw new ModelFileError(`${where}: the manifest's schema has no fitted feature schema (was it written by ctrkit train?)`);
  const source = SourceSchema.safeParse(s.data.source);
  if (!source.success) throw new ModelFileError(`${where}: the manifest's schema.source is not a valid data source`);
  return {
    fitted: FittedSchema.fromJSON(s.data.fitted, `${where}: schema.fitted`), source: source.data,
    ...(s.data.columns && { columns: s.data.columns }),
  };
}
