/**
 * Console tables: what tasks print for a person in a terminal.
 * @module
 */

/**
 * Left-aligned text table: a header line, a rule, then one line per row,
 * columns two spaces apart and trailing blanks trimmed.
 *
 * @param header column names
 * @param rows text cells, one array per row, as many cells as `header`
 * @returns the table as lines joined by `\n`
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { table } from "./table.ts";
 * assert.equal(table(["k", "value"], [["a", "1"]]), "k  value\n-  -----\na  1");
 * ```
 */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
