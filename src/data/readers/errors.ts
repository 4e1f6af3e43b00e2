import { basename } from 'node:path';

/**
 * A problem with the content of a data file. The message starts with `file:line:` so that it can be
 * pasted into an editor; the file is named by its base name there (the full path is in `file`),
 * because the same file name is what users see in SOURCE.md tables and logs.
 */
export class DataFormatError extends Error {
  /** Path of the file as given to the reader. */
  readonly file: string;
  /** 1-based physical line number, or undefined for whole-file problems (empty, truncated gzip). */
  readonly line: number | undefined;
  /** Field (column) name the problem is in, if it is about one field. */
  readonly field: string | undefined;
  /** The message without the `file:line:` prefix. */
  readonly detail: string;

  constructor(file: string, line: number | undefined, field: string | undefined, detail: string) {
    const where = line === undefined ? basename(file) : `${basename(file)}:${line}`;
    super(`${where}: ${field === undefined ? '' : `field ${field}: `}${detail}`);
    this.name = 'DataFormatError';
    this.file = file;
    this.line = line;
    this.field = field;
    this.detail = detail;
  }
}

/** Quotes a value for an error message, shortened so that a runaway line does not flood the log. */
export function show(value: string, max = 40): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
