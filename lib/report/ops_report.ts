/**
 * The simulated-operations report: monthly figures of the retrained loop
 * against a frozen model, the drift events marked, and every gate decision
 * with its reason.
 * @module
 */
import { Plot, plotSvg } from "./plot.ts";
import { escapeHtml, figure, fmt, htmlTable, page } from "./html.ts";

/** One model's monthly figures, as the report reads them. */
export interface OpsReportFigures {
  averagePrecision: number | null;
  cardPrecisionAt100: number | null;
  alertRate: number;
}

/** One month of simulated operations, as the report reads it. */
export interface OpsReportMonth {
  month: number;
  /** Its first day and the day after its last (YYYY-MM-DD). */
  from: string;
  to: string;
  /** Transactions measured, and frauds among them. */
  rows: number;
  frauds: number;
  /** Drift events starting this month. */
  events: string[];
  /** The loop's champion during the month. */
  champion: { version: number; run_id: string };
  /** The loop's and the frozen model's figures on the month. */
  loop: OpsReportFigures;
  frozen: OpsReportFigures;
  /** The month's drift check against the champion's reference. */
  drift: { drift: boolean; reasons: string[] };
  /** The end-of-month gate. */
  gate: { decision: string; reason: string; challenger: number };
}

/** What {@linkcode opsReportHtml} shows. */
export interface OpsReportInput {
  months: OpsReportMonth[];
  afterEvents: {
    month: number;
    scenario: string;
    months: number[];
    apGain: number | null;
    cpGain: number | null;
  }[];
  model: string;
  seed: number;
  customers: number;
  seconds: number;
}

/** One monthly line plot: the loop and the frozen model, drift events as vertical rules. */
function monthlyPlot(
  input: OpsReportInput,
  key: keyof OpsReportFigures,
  label: string,
): string {
  const data = input.months.flatMap((m) => [
    { month: m.month, value: m.loop[key], model: "retrained loop" },
    { month: m.month, value: m.frozen[key], model: "frozen after the first period" },
  ]).filter((d) => d.value !== null);
  const events = input.afterEvents.map((e) => ({ month: e.month, scenario: e.scenario }));
  return plotSvg({
    width: 640,
    height: 260,
    marginLeft: 56,
    grid: true,
    color: {
      legend: true,
      domain: ["retrained loop", "frozen after the first period"],
      range: ["#1f77b4", "#d62728"],
    },
    x: { label: "month", tickFormat: "d" },
    y: { label },
    marks: [
      Plot.ruleX(events, { x: "month", stroke: "#999", strokeDasharray: "4,3" }),
      Plot.text(events, {
        x: "month",
        text: "scenario",
        frameAnchor: "top",
        dy: 6,
        fill: "#555",
        fontSize: 10,
      }),
      Plot.line(data, { x: "month", y: "value", stroke: "model", marker: "circle" }),
    ],
  });
}

/** The report page. */
export function opsReportHtml(input: OpsReportInput): string {
  const gains = input.afterEvents.map((e) => [
    `month ${e.month}`,
    e.scenario,
    e.months.join(", "),
    e.apGain === null ? "n/a" : (e.apGain >= 0 ? "+" : "") + fmt(e.apGain),
    e.cpGain === null ? "n/a" : (e.cpGain >= 0 ? "+" : "") + fmt(e.cpGain),
  ]);
  const monthRows = input.months.map((m) => [
    String(m.month),
    `${m.from} .. ${m.to}`,
    m.events.join(", "),
    `v${m.champion.version}`,
    fmt(m.loop.averagePrecision),
    fmt(m.frozen.averagePrecision),
    fmt(m.loop.cardPrecisionAt100),
    fmt(m.frozen.cardPrecisionAt100),
    (100 * m.loop.alertRate).toFixed(2) + "%",
    (100 * m.frozen.alertRate).toFixed(2) + "%",
    m.drift.drift ? "drift" : "no",
  ]);
  const gateRows = input.months.map((m) => [
    `end of month ${m.month}`,
    `v${m.gate.challenger}`,
    m.gate.decision,
    m.gate.reason,
  ]);
  const body = `<h1>A year of operations, simulated</h1>
<p>${input.months.length} months of a simulated world (${input.customers} customers, seed ${input.seed}) after a first
period of 60 days that trained the first ${
    escapeHtml(input.model)
  } model. Each month the loop scores the month with
its champion, measures it on the month's labels, checks drift, retrains a challenger on the latest 63 days and lets
the gate decide; the frozen model is the first one, never replaced. Drift events are dashed lines. ${
    input.seconds.toFixed(0)
  } s.</p>
<h2>After each drift event</h2>
<p>Mean gap, retrained loop minus frozen model, over the event's month and the two after it.</p>
${htmlTable(["event", "scenario", "months", "AP gain", "card precision@100 gain"], gains)}
${figure("Average precision by month", monthlyPlot(input, "averagePrecision", "average precision"))}
${
    figure(
      "Card precision@100 by month (daily mean)",
      monthlyPlot(input, "cardPrecisionAt100", "card precision@100"),
    )
  }
${figure("Alert rate by month", monthlyPlot(input, "alertRate", "alerts / transactions"))}
<h2>Months</h2>
${
    htmlTable([
      "month",
      "days",
      "events",
      "champion",
      "AP loop",
      "AP frozen",
      "CP@100 loop",
      "CP@100 frozen",
      "alerts loop",
      "alerts frozen",
      "drift check",
    ], monthRows)
  }
<h2>Gate decisions</h2>
${htmlTable(["when", "challenger", "decision", "reason"], gateRows)}`;
  return page("fraudlab: a year of operations", body);
}
