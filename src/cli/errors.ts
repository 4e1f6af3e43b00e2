/**
 * Errors the CLI reports to the user as a single line (no stack trace): bad input files, bad
 * option values. Anything else reaching the top level is a bug and is labelled as such.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
