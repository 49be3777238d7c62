import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { show, showFrame, showMetrics, Shown, showPlot, showTable } from "./display.ts";
import { fraudRatePlot } from "./eval_plots.ts";
import { evaluateScores } from "../eval/evaluate.ts";
import { compareStrategies } from "../eval/threshold.ts";
import { fraudRateBy } from "../data/profile.ts";
import { notebookDisplay } from "../notebook/mod.ts";

const BUNDLE = Symbol.for("Jupyter.display");

function bundleOf(s: Shown): Record<string, string> {
  return (s as unknown as Record<symbol, () => Record<string, string>>)[BUNDLE]();
}

Deno.test("a frame shows its first rows as an HTML table in Jupyter and as text in Deno", () => {
  const df = pl.DataFrame({ amount: [12.5, 3, 990], card: ["a", "b", "c"] });
  const s = showFrame(df, { rows: 2, title: "tx" });
  const b = bundleOf(s);
  assert.ok(b["text/html"].includes("<table>"));
  assert.ok(b["text/html"].includes("<td>12.5000</td>"));
  assert.ok(!b["text/html"].includes("990"), "only the first 2 rows");
  assert.ok(b["text/plain"].includes("3 rows × 2 columns (first 2 shown)"));
  assert.ok(b["text/plain"].includes("amount (Float64)"));
  // Plain Deno prints the text form, not {}.
  assert.equal(Deno.inspect(s), s.text);
  assert.equal(String(s), s.text);
  assert.ok(show(df).text.includes("3 rows × 2 columns"));
});

Deno.test("tables escape HTML and format numbers like the reports", () => {
  const s = showTable(["name", "n"], [["<b>x</b>", 12345], ["y", 0.123456]]);
  assert.ok(s.html!.includes("&lt;b&gt;x&lt;/b&gt;"));
  assert.ok(s.text.includes("12,345"));
  assert.ok(s.text.includes("0.1235"));
});

Deno.test("a plot is an SVG image in Jupyter and a one-line description in Deno", () => {
  const svg = fraudRatePlot(fraudRateBy([0, 1, 0, 0], [1, 1, 2, 2]), { label: "hour" });
  const bare = bundleOf(showPlot(svg));
  assert.ok(bare["image/svg+xml"].startsWith("<svg"));
  const titled = showPlot(svg, { title: "by hour" });
  assert.ok(bundleOf(titled)["text/html"].includes("<h4>by hour</h4><svg"));
  assert.match(titled.text, /^\[by hour: 640×280 SVG plot/);
  assert.ok(show(svg).svg);
});

Deno.test("metrics of several models side by side", () => {
  const labels = [0, 0, 1, 0, 1, 0, 0, 0];
  const a = evaluateScores({
    labels,
    scores: Float32Array.from([0.1, 0.2, 0.9, 0.3, 0.8, 0.1, 0.2, 0.4]),
    threshold: 0.5,
  }).metrics;
  const b = evaluateScores({
    labels,
    scores: Float32Array.from([0.9, 0.2, 0.1, 0.3, 0.8, 0.1, 0.2, 0.4]),
    threshold: 0.5,
  }).metrics;
  const s = showMetrics({ perfect: a, worse: b });
  const line = s.text.split("\n").find((l) => l.startsWith("ROC-AUC"))!;
  // b: fraud at 0.8 outranks 5 of 6 legit, fraud at 0.1 ties one: (5 + 0.5) / 12.
  assert.match(line, /ROC-AUC\s+1\s+0\.4583/);
  assert.equal(show(a).text.split("\n")[0].trim().split(/\s+/)[1], "metrics");
});

Deno.test("fraudRateBy counts rows and fraud per group, numeric groups ascending", () => {
  assert.deepStrictEqual(fraudRateBy([1, 0, 0, 1, 1], [3, 1, 3, 1, 3]), [
    { group: 1, rows: 2, fraud: 1, rate: 0.5 },
    { group: 3, rows: 3, fraud: 2, rate: 2 / 3 },
  ]);
  assert.throws(() => fraudRateBy([1], [1, 2]), /1 labels but 2 groups/);
});

Deno.test("compareStrategies chooses on validation and measures on test", () => {
  // Validation: frauds score 0.9 and 0.7, legit at most 0.6.
  const validation = {
    labels: [1, 1, 0, 0, 0, 0],
    scores: [0.9, 0.7, 0.6, 0.2, 0.1, 0.05],
    days: 2,
  };
  // Test: one fraud at 0.95 (caught at 0.7), one at 0.5 (missed), a legit at 0.8 (false alarm).
  const test = {
    labels: [1, 1, 0, 0, 0],
    scores: [0.95, 0.5, 0.8, 0.3, 0.1],
    amounts: [100, 40, 10, 10, 10],
    days: 1,
    alertFee: 5,
  };
  const [f1, budget] = compareStrategies(["max-f1", "budget:0.5"], { validation, test });
  assert.equal(f1.strategy, "max-f1");
  assert.ok(Math.abs(f1.threshold - 0.7) < 1e-6);
  assert.equal(f1.objective, 1);
  assert.deepStrictEqual(
    { ...f1.test },
    { alerts: 2, alertsPerDay: 2, precision: 0.5, recall: 0.5, fpr: 1 / 3, cost: 2 * 5 + 40 },
  );
  // At most half an alert a day on 2 validation days: one alert, the top score.
  assert.ok(Math.abs(budget.threshold - 0.9) < 1e-6);
  assert.equal(budget.test.alerts, 1);
  assert.equal(budget.test.recall, 0.5);
});

Deno.test("notebookDisplay hands Jupyter a displayable value and waits before returning", async () => {
  const shown: unknown[] = [];
  let sent = 0, returned = 0;
  const display = notebookDisplay({
    display(value: unknown) {
      shown.push(value);
      sent = performance.now();
      return Promise.resolve();
    },
  });
  await display(pl.DataFrame({ x: [1] }));
  returned = performance.now();
  assert.equal(shown.length, 1);
  assert.ok(shown[0] instanceof Shown);
  assert.ok(bundleOf(shown[0] as Shown)["text/html"].includes("<table>"));
  assert.ok(returned - sent >= 9, "pauses so the kernel sends the output first");
});
