// What every command shares on its command line: node's parseArgs with one
// set of rules (`--opt value` and `--opt=value`, -h/--help, an unknown option
// or a missing value is a usage error), and how --help and a bad command line
// are answered.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

/** A bad command line: parseOrExit prints its message and the usage, and exits 2. */
export class UsageError extends Error {}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Reads `argv` with parseArgs, strictly: an option not in `options`, a value
 * given to a flag, or a missing value (`--project --json` is not the project
 * "--json") throws a UsageError. Arguments that are not options are allowed
 * only with `positionals: true`. --help and -h are always known.
 */
export function readCommandLine<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  { positionals = false }: { positionals?: boolean } = {},
) {
  let parsed: ReturnType<typeof parseArgs<{ options: O & typeof HELP; allowPositionals: boolean }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, ...HELP }, allowPositionals: positionals });
  } catch (err) {
    throw new UsageError(usageMessage(err as NodeJS.ErrnoException));
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === '') throw new UsageError(`--${name} needs a value.`);
  }
  return parsed;
}

/** parseArgs's message, short: "Unknown option --verbose.", "--url needs a value." */
function usageMessage(err: NodeJS.ErrnoException): string {
  const quoted = /'(?:-\w, )?(--?[\w-]+)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `Unknown option ${quoted}.`;
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return `Unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}: this command takes options only.`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /does not take an argument/.test(err.message)
      ? `${quoted} takes no value.`
      : `${quoted} needs a value.`;
  }
  throw err;
}

/**
 * Runs `parse` on the command line. --help (parse answers `{ help: true }`)
 * prints `usage` and exits 0; a UsageError prints its message and `usage`,
 * and exits 2. Anything else is a bug and is thrown.
 */
export function parseOrExit<P extends { help: boolean }>(
  parse: () => P,
  usage: string,
): Exclude<P, { help: true }> {
  let parsed: P;
  try {
    parsed = parse();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n\n${usage}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed as Exclude<P, { help: true }>;
}
