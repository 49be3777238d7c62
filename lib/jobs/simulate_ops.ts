/**
 * A year of operations, simulated: one simulated world runs month after
 * month with drift events, and each month the loop does what a fraud team's
 * schedule does — batch-scores the month with the champion, measures it on
 * the month's labels, checks drift, retrains a challenger on the latest
 * data and lets the gate decide — beside a model frozen after the first
 * period. The report plots both models' monthly figures and lists every
 * gate decision.
 *
 * Timeline: a first period of `warmupDays` (60) trains the first model
 * (35 training days, 7 of label delay, 14 of test), which becomes both the
 * loop's champion and the frozen model. Month m (m = 1 … months) is the
 * next 30 days. Both models are measured on month m with the champion at
 * its start; at its end, a challenger is trained on the 63 days before it
 * (same split, test window the month's last 14 days, labels taken as known
 * by then) and gated against the champion on that test window: a promoted
 * challenger is the champion from month m + 1 on.
 * @module
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { type DriftEvent, simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { promote, readRegistry } from "../registry/aliases.ts";
import { DAY_MS } from "../util/time.ts";
import { UserError } from "../util/errors.ts";
import {
  type OpsReportFigures,
  opsReportHtml,
  type OpsReportInput,
  type OpsReportMonth,
} from "../report/ops_report.ts";
import { runsDir, writeAtomic } from "../registry/store.ts";
import { runDriftJob } from "./drift.ts";
import { runEvaluateJob } from "./evaluate.ts";
import { type GateRules, runGate } from "./gate.ts";
import { runScoreJob } from "./score.ts";
import { trainRun } from "./train.ts";

/** What {@linkcode runSimulateOps} simulates. */
export interface SimulateOpsJob {
  /** Months after the first period. Default 12. */
  months?: number;
  /** Customers of the world. Default 1500. */
  customers?: number;
  /** Seed of the world and of every model. Default 7. */
  seed?: number;
  /** Model kind of every run. Default gbdt. */
  model?: string;
  /** Drift events by month (1-based): default amount inflation, a new fraud pattern and a channel shift at a quarter, a half and three quarters of the months. */
  events?: { month: number; scenario: DriftEvent["scenario"]; intensity?: number }[];
  /** Gate rules (defaults of the gate). */
  rules?: GateRules;
  /** Folder for the world, the monthly files, the runs and the registry (created). */
  dir: string;
  /** The HTML report. Default `<dir>/report.html`. */
  report?: string;
  /** Called with each month's line as it is known. */
  onMonth?: (m: OpsMonth) => void;
}

/** One model's figures on one month (card precision@100 is the daily mean). */
export interface OpsFigures extends OpsReportFigures {
  recall: number;
}

/** One month of the simulated operations: what the report shows, and the month's batch scoring. */
export interface OpsMonth extends OpsReportMonth {
  loop: OpsFigures;
  frozen: OpsFigures;
  /** The batch-scoring job's counts for the month. */
  scored: { rows: number; alerts: number; refused: number };
}

/** The outcome of {@linkcode runSimulateOps}. */
export interface SimulateOpsResult {
  months: OpsMonth[];
  /** Per drift event: the mean AP and card precision@100 gap (loop − frozen) over its month and the two after. */
  afterEvents: OpsReportInput["afterEvents"];
  report: string;
  seconds: number;
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const START = Date.UTC(2025, 0, 1);
const WARMUP_DAYS = 60;
const MONTH_DAYS = 30;
/** Days of history before a window that its velocity features read (longest window 30 + delay 7, and a margin). */
const HISTORY_DAYS = 40;
const SPLIT = { method: "time" as const, trainDays: 35, delayDays: 7, testDays: 14 };

/** The default drift events for `months` months. */
export function defaultOpsEvents(months: number): NonNullable<SimulateOpsJob["events"]> {
  if (months < 3) return [{ month: 1, scenario: "new_fraud" }];
  return [
    { month: Math.ceil(months / 4), scenario: "amount_inflation", intensity: 2 },
    { month: Math.ceil(months / 2), scenario: "new_fraud", intensity: 2 },
    { month: Math.ceil((3 * months) / 4), scenario: "channel_shift", intensity: 2 },
  ];
}

function figuresOf(m: Awaited<ReturnType<typeof runEvaluateJob>>["metrics"]): OpsFigures {
  return {
    averagePrecision: Number.isFinite(m.averagePrecision) ? m.averagePrecision : null,
    cardPrecisionAt100: m.entityPrecisionAtK?.mean ?? null,
    alertRate: m.atThreshold.alertRate,
    recall: m.atThreshold.recall,
  };
}

/**
 * Runs the simulated operations (see the module doc) and writes the report.
 *
 * @param job months, world, model kind, drift events, folder
 * @returns every month's figures and decisions, the gains after each event
 */
export async function runSimulateOps(job: SimulateOpsJob): Promise<SimulateOpsResult> {
  const t0 = performance.now();
  const months = job.months ?? 12;
  if (!(Number.isInteger(months) && months >= 1 && months <= 36)) {
    throw new UserError(`--months must be an integer in [1, 36], got ${job.months}`);
  }
  const seed = job.seed ?? 7, kind = job.model ?? "gbdt";
  const events = job.events ?? defaultOpsEvents(months);
  for (const e of events) {
    if (!(Number.isInteger(e.month) && e.month >= 1 && e.month <= months)) {
      throw new UserError(
        `drift event ${e.scenario}: month must be in [1, ${months}], got ${e.month}`,
      );
    }
  }
  const monthStart = (m: number) => START + (WARMUP_DAYS + (m - 1) * MONTH_DAYS) * DAY_MS;
  const days = WARMUP_DAYS + months * MONTH_DAYS;
  const dir = job.dir, root = join(dir, "artifacts");
  await Deno.mkdir(join(dir, "data"), { recursive: true });
  const world = simulateTransactions({
    customers: job.customers ?? 1500,
    days,
    start: iso(START),
    seed,
    drift: events.map((e) => ({
      scenario: e.scenario,
      from: iso(monthStart(e.month)),
      intensity: e.intensity ?? 1,
    })),
    quiet: true,
  });
  const t = pl.col("tx_time");
  const slice = (from: number, to: number, name: string) => {
    const path = join(dir, "data", name);
    writeFrame(world.filter(t.gtEq(pl.lit(new Date(from))).and(t.lt(pl.lit(new Date(to))))), path);
    return path;
  };
  const train = async (end: number, label: string) => {
    const data = slice(
      end - (SPLIT.trainDays + SPLIT.delayDays + SPLIT.testDays + HISTORY_DAYS) * DAY_MS,
      end,
      `train_${label}.parquet`,
    );
    const run = await trainRun({
      data,
      spec: "txsim",
      model: kind,
      split: { ...SPLIT, testEnd: iso(end) },
      seed,
    }, { root, quiet: true });
    return { run, data };
  };
  // The first period: the first champion, and the frozen model.
  const first = await train(monthStart(1), "month0");
  await promote(first.run.id, { root, model: "ops", reason: "first model" });
  const frozenId = first.run.id;
  const out: OpsMonth[] = [];
  for (let m = 1; m <= months; m++) {
    const from = monthStart(m), to = from + MONTH_DAYS * DAY_MS;
    const reg = await readRegistry(root);
    const chv = reg.models.ops.aliases.champion;
    const championRun = reg.models.ops.versions.find((v) => v.version === chv)!.run_id;
    const window = slice(from - HISTORY_DAYS * DAY_MS, to, `month${m}.parquet`);
    const since = iso(from);
    const loop = await runEvaluateJob({ run: championRun, data: window, since, root });
    const frozen = championRun === frozenId
      ? loop
      : await runEvaluateJob({ run: frozenId, data: window, since, root });
    // The month scored as the daily batch jobs would (with the champion), and its drift.
    const scored = await runScoreJob({
      model: `run:${championRun}`,
      data: slice(from, to, `month${m}_new.parquet`),
      history: slice(from - HISTORY_DAYS * DAY_MS, from, `month${m}_history.parquet`),
      out: join(dir, "scores", `month${m}.csv`),
      root,
      quiet: true,
    });
    const drift = await runDriftJob({
      ref: `run:${join(runsDir(root), championRun)}`,
      cur: window,
      since,
      out: join(dir, "drift", `month${m}.html`),
    });
    // End of the month: retrain, register the challenger, gate it.
    const challenger = await train(to, `month${m}`);
    await promote(challenger.run.id, {
      root,
      model: "ops",
      alias: "challenger",
      reason: `retrain after month ${m}`,
    });
    const gate = await runGate({
      model: "ops",
      data: challenger.data,
      since: iso(to - SPLIT.testDays * DAY_MS),
      rules: job.rules,
      root,
    });
    const line: OpsMonth = {
      month: m,
      from: since,
      to: iso(to),
      rows: loop.metrics.rows,
      frauds: loop.metrics.positives,
      events: events.filter((e) => e.month === m).map((e) => e.scenario),
      champion: { version: chv, run_id: championRun },
      loop: figuresOf(loop.metrics),
      frozen: figuresOf(frozen.metrics),
      drift: { drift: drift.result.drift, reasons: drift.result.reasons },
      scored: { rows: scored.rows, alerts: scored.alerts, refused: scored.refused },
      gate: { decision: gate.decision, reason: gate.reason, challenger: gate.challenger.version },
    };
    out.push(line);
    job.onMonth?.(line);
  }
  const gap = (ms: OpsMonth[], k: "averagePrecision" | "cardPrecisionAt100") => {
    const d = ms.map((
      x,
    ) => (x.loop[k] === null || x.frozen[k] === null ? null : x.loop[k]! - x.frozen[k]!))
      .filter((v): v is number => v !== null);
    return d.length ? d.reduce((a, b) => a + b, 0) / d.length : null;
  };
  const afterEvents = events.map((e) => {
    const ms = out.filter((x) => x.month >= e.month && x.month <= e.month + 2);
    return {
      month: e.month,
      scenario: e.scenario,
      months: ms.map((x) => x.month),
      apGain: gap(ms, "averagePrecision"),
      cpGain: gap(ms, "cardPrecisionAt100"),
    };
  });
  const report = job.report ?? join(dir, "report.html");
  const seconds = (performance.now() - t0) / 1000;
  await writeAtomic(
    report,
    opsReportHtml({
      months: out,
      afterEvents,
      model: kind,
      seed,
      customers: job.customers ?? 1500,
      seconds,
    }),
  );
  return { months: out, afterEvents, report, seconds };
}
