/**
 * The ceiling the scoring server is measured against: Hono on Deno.serve,
 * a POST route that parses the JSON body and returns a fixed JSON answer
 * (no validation, no model, no log). `PORT` env, default 8772.
 */
import { Hono } from "hono";

const port = Number(Deno.env.get("PORT") ?? "8772");
const app = new Hono();
app.post("/v1/score", async (c) => {
  const body = await c.req.json();
  if (typeof body !== "object" || body === null) return c.text("bad", 400);
  return c.json({ score: 0.5, is_fraud: false });
});
app.get("/healthz", (c) => c.json({ status: "ok" }));
Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, app.fetch);
