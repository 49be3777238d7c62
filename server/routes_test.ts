import assert from "node:assert/strict";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { parseMetrics, seriesKey } from "../lib/serving/metrics.ts";
import { createApp } from "./app.ts";
import { openApiPath, PATH_METHODS, type Route, ROUTE_TABLE, routeLabel } from "./routes.ts";
import { fixtureHolder, servingFixture } from "./testing.ts";

const routes = ROUTE_TABLE as readonly Route[];

Deno.test("routes: every entry of the table is served, answers 405 with Allow from it, and is in the OpenAPI document", async () => {
  const f = await servingFixture();
  const log = PredictionLog.open(":memory:");
  const app = createApp({ models: await fixtureHolder(f), log, now: f.now, feedbackRate: null });
  try {
    for (const r of routes) {
      const path = r.path.replace(":asset", "swagger-ui.css");
      const res = await app.request(path, {
        method: r.method,
        headers: r.bodyTypes ? { "content-type": r.bodyTypes[0] } : {},
        body: r.method === "POST" ? "{}" : undefined,
      });
      await res.body?.cancel();
      assert.notEqual(res.status, 404, `${r.method} ${r.path}`);
      assert.notEqual(res.status, 405, `${r.method} ${r.path}`);
      const other = r.method === "GET" ? "DELETE" : "GET";
      const wrong = await app.request(path, { method: other });
      await wrong.body?.cancel();
      if (!r.path.includes(":")) {
        assert.equal(wrong.status, 405, `${other} ${r.path}`);
        assert.equal(wrong.headers.get("allow"), PATH_METHODS.get(r.path)!.join(", "));
      }
    }
    const doc = await (await app.request("/openapi.json")).json();
    assert.deepEqual(
      Object.keys(doc.paths).sort(),
      [...new Set(routes.map((r) => openApiPath(r.path)))].sort(),
    );
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
      assert.equal(op.summary, r.summary);
      assert.deepEqual(Object.keys(op.responses).sort(), ["200", ...r.errors.map(String)].sort());
      assert.equal(op.security !== undefined, r.access !== "open", r.path);
    }
    // Metric labels come from the table, never from the client's path.
    assert.equal(routeLabel("/docs/swagger-ui.css"), "/docs/:asset");
    assert.equal(routeLabel("/docs/a/b"), "unmatched");
    assert.equal(routeLabel("/v1/score?x=1"), "unmatched");
    const text = await (await app.request("/metrics")).text();
    const series = parseMetrics(text);
    const key = seriesKey("fraudlab_http_requests_total", {
      route: "/docs/:asset",
      method: "GET",
      status: "200",
    });
    assert.ok((series.get(key) ?? 0) >= 1, "the asset request is counted under its pattern");
  } finally {
    log.close();
  }
});
