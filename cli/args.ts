/** Minimal argv parsing for the `calendar-relay` command: positionals and `--name value` / `--flag`. */

/** Wrong usage: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], spec: { values: string[]; flags: string[] }): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-' || !a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    if (spec.flags.includes(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      options.set(name, true);
    } else if (spec.values.includes(name)) {
      const value = eq !== -1 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      options.set(name, value);
    } else {
      const known = [...spec.values, ...spec.flags].map((o) => `--${o}`);
      throw new UsageError(`unknown option --${name} (${known.length ? `options here: ${known.join(', ')}` : 'this command takes no options'})`);
    }
  }
  return { positionals, options };
}

export function optionValue(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
}
