/**
 * Progress for long work: a bar with rate and ETA on a terminal, a plain line
 * every 10% elsewhere (CI logs). Writes to stderr so stdout stays parseable.
 * @module
 */

/** Handle returned by {@linkcode progress}. */
export interface Progress {
  /** Adds `n` finished units. */
  tick(n?: number): void;
  /** Ends the bar and prints the total time. */
  done(): void;
}

/** Options for {@linkcode progress}. */
export interface ProgressOptions {
  /** Draw nothing (tests, notebooks). Default: false. */
  quiet?: boolean;
  /** Unit name shown with the rate. Default: "rows". */
  unit?: string;
}

const encoder = new TextEncoder();

function write(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

/**
 * Starts a progress display for `total` units of work labelled `label`.
 *
 * @example
 * ```ts
 * const bar = progress("simulate", 90, { unit: "days" });
 * for (let d = 0; d < 90; d++) bar.tick();
 * bar.done();
 * ```
 */
export function progress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const unit = options.unit ?? "rows";
  if (options.quiet) return { tick() {}, done() {} };
  const tty = Deno.stderr.isTerminal();
  const start = performance.now();
  let doneUnits = 0, lastDraw = 0, lastDecile = 0;
  const draw = (final: boolean) => {
    const elapsed = (performance.now() - start) / 1000;
    const rate = doneUnits / Math.max(elapsed, 1e-9);
    const frac = total > 0 ? Math.min(1, doneUnits / total) : 1;
    if (tty) {
      const width = 30, fill = Math.round(frac * width);
      const eta = final ? "" : ` eta ${fmtSeconds((total - doneUnits) / rate)}`;
      write(
        `\r${label} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${doneUnits}/${total} ` +
          `${rate.toFixed(0)} ${unit}/s${eta}   ${final ? "\n" : ""}`,
      );
    } else {
      write(
        `${label}: ${doneUnits}/${total} ${unit} (${Math.round(frac * 100)}%), ${
          fmtSeconds(elapsed)
        }\n`,
      );
    }
  };
  return {
    tick(n = 1) {
      doneUnits += n;
      if (tty) {
        const now = performance.now();
        if (now - lastDraw > 100) {
          lastDraw = now;
          draw(false);
        }
      } else if (total > 0) {
        const decile = Math.floor((doneUnits / total) * 10);
        if (decile > lastDecile && decile < 10) {
          lastDecile = decile;
          draw(false);
        }
      }
    },
    done() {
      draw(true);
    },
  };
}
