/**
 * The command line the benchmarks start `deno task serve` with: a port, a
 * prediction log, no history seed, no alias polling, then any extra flags.
 * @module
 */

/** `deno run` arguments for server/main.ts (run from the repository root). */
export function serverArgs(port: number, logPath: string, extra: string[] = []): string[] {
  return [
    "run",
    "-A",
    "server/main.ts",
    "--port",
    String(port),
    "--log",
    logPath,
    "--history",
    "none",
    "--poll",
    "0",
    ...extra,
  ];
}
