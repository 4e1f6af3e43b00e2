/**
 * A problem with an experiment configuration (as opposed to the data it points at, which is a
 * DataFormatError). The message starts with where the configuration came from and the dotted path
 * of the offending key, so that one line is enough to find and fix it.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One line per problem, each `where: path: message`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}
