/**
 * Progress for long work: a bar with rate and ETA on a terminal (drawn by
 * `cli-progress`), a plain line every 10% elsewhere (CI logs). Writes to
 * stderr so stdout stays parseable.
 * @module
 */
import process from "node:process";

// cli-progress loads only where a bar can be drawn: a server or a CI job
// (stderr not a terminal) never loads it (about 30 ms of start-up).
const cliProgress = Deno.stderr.isTerminal() ? await import("cli-progress") : null;

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
  if (cliProgress && Deno.stderr.isTerminal()) {
    const { Presets, SingleBar } = cliProgress;
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} {rate} ${unit}/s eta {eta_formatted}`,
      stream: process.stderr,
      fps: 10,
      hideCursor: false,
      etaBuffer: 50,
    }, Presets.legacy);
    const start = performance.now();
    let doneUnits = 0;
    bar.start(total, 0, { rate: "0" });
    const rate = () => (doneUnits / Math.max((performance.now() - start) / 1000, 1e-9)).toFixed(0);
    return {
      tick(n = 1) {
        doneUnits += n;
        bar.update(doneUnits, { rate: rate() });
      },
      done() {
        bar.update(doneUnits, { rate: rate() });
        bar.stop();
      },
    };
  }
  const start = performance.now();
  let doneUnits = 0, lastDecile = 0;
  const line = () => {
    const frac = total > 0 ? Math.min(1, doneUnits / total) : 1;
    write(
      `${label}: ${doneUnits}/${total} ${unit} (${Math.round(frac * 100)}%), ${
        fmtSeconds((performance.now() - start) / 1000)
      }\n`,
    );
  };
  return {
    tick(n = 1) {
      doneUnits += n;
      if (total > 0) {
        const decile = Math.floor((doneUnits / total) * 10);
        if (decile > lastDecile && decile < 10) {
          lastDecile = decile;
          line();
        }
      }
    },
    done() {
      line();
    },
  };
}
