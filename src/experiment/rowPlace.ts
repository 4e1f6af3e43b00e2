/** Where a dataset row came from, in the words of an error message. */
import type { DataSplit } from '../schema/index.js';
import type { ExperimentConfig } from './config.js';

/** Where dataset row r came from, for messages: its split, its number there (1-based) and, for split files, the file. */
export function rowPlace(cfg: ExperimentConfig, split: DataSplit, r: number): string {
  const sp = cfg.data.split;
  const src = cfg.data.source;
  const fitFile = 'path' in src ? src.path : undefined;
  // With split.fit the validation rows are the source file's tail: number them in that file.
  const files = sp.mode === 'files'
    ? { fit: fitFile, validation: sp.fit === undefined ? sp.validation : fitFile, test: sp.test }
    : { fit: undefined, validation: undefined, test: undefined };
  for (const part of ['fit', 'validation', 'test'] as const) {
    const range = split[part];
    if (r >= range.start && r < range.end) {
      const file = files[part];
      const first = sp.mode === 'files' && sp.fit !== undefined && part === 'validation' ? split.fit.start : range.start;
      return `${file === undefined ? `${cfg.file}: ${part} data` : file}: data row ${r - first + 1}${file === undefined ? '' : ` (${part === 'validation' && first !== range.start ? 'fit' : part} file, header excluded)`}`;
    }
  }
  return `${cfg.file}: data row ${r + 1}`;
}
