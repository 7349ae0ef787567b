// Command-line flags of the benchmarks: `--name value`.

/** The value after `--name` in args (default: process.argv), or fallback. */
export function arg(name: string, fallback: string, args: string[] = process.argv): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}
