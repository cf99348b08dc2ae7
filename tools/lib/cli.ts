// What the command-line tools (check, verify, bench) share: how they answer
// --help and a bad command line.

/** A bad command line: parseOrExit prints its message and the usage, and exits 2. */
export class UsageError extends Error {}

/**
 * Runs `parse` on the command line. --help (parse answers `{ help: true }`)
 * prints `usage` and exits 0; a UsageError prints its message and `usage`,
 * and exits 2. Anything else is a bug and is thrown.
 */
export function parseOrExit<T>(parse: () => { help: true } | ({ help: false } & T), usage: string): T {
  let parsed: { help: true } | ({ help: false } & T);
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
  return parsed;
}
