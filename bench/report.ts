/** Benchmark output: a readable table line per result, or one JSON object per line with --json. */
export class Reporter {
  constructor(readonly json: boolean) {}

  row(r: Record<string, string | number | boolean | null>): void {
    if (this.json) {
      process.stdout.write(JSON.stringify(r) + '\n');
    } else {
      process.stdout.write(Object.entries(r).map(([k, v]) => `${k}=${v}`).join('  ') + '\n');
    }
  }

  /** Progress and context: stderr, so --json stdout stays machine-readable. */
  note(msg: string): void {
    process.stderr.write(`# ${msg}\n`);
  }
}

export function hasFlag(argv: readonly string[], flag: string): boolean {
  return argv.includes(flag);
}

export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(flag + '='));
  return eq ? eq.slice(flag.length + 1) : undefined;
}
