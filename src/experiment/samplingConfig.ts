/**
 * What `data.sampling.loss` and `data.sampling.position` need from the rest of the config, checked
 * before any data is read (the schema itself, ranges included, is src/schema/config.ts).
 */
import type { DataConfig } from '../schema/index.js';

interface SamplingTrain {
  tasks?: readonly unknown[] | undefined;
  online?: { input?: string | undefined; jetstream?: unknown } | undefined;
}

export function checkSampling(data: DataConfig, train: SamplingTrain, at: (path: string, msg: string) => void): void {
  const s = data.sampling;
  if (s?.loss === undefined && s?.position === undefined) return;
  const which = s.loss !== undefined ? 'data.sampling.loss' : 'data.sampling.position';
  if (train.tasks !== undefined) at(which, 'inverse-propensity sampling of a multi-task run (train.tasks) is not supported');
  if (data.source.format === 'events') at(which, 'an event log is not one row per example (the examples are derived from it)');
  if (s.position !== undefined && data.labels.some((l) => (l.column ?? l.name) === s.position!.column)) {
    at('data.sampling.position.column', `column ${s.position.column} is a label`);
  }
  if (s.loss === undefined) return;
  const o = train.online;
  if (o !== undefined && (o.jetstream !== undefined || o.input === '-')) {
    at('data.sampling.loss', 'in online mode the teacher scores the stream file once before training: read a file, not standard input or JetStream');
  }
  if (o === undefined && data.split.mode === 'random') {
    at('data.sampling.loss.teacher', 'a teacher directory scores the data files in file order; split mode random reorders rows: use file-order or files');
  }
  if (data.source.format === 'duckdb') at('data.sampling.loss.teacher', 'a teacher directory scores the rows of data files; a duckdb query has none');
}
