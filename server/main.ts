/**
 * `deno task serve [--port 8000] [--host 127.0.0.1] [--model NAME@ALIAS]
 * [--log PATH] [--history run|PATH|none] [--poll SECONDS]`: serves the model
 * behind the alias (default champion) until SIGTERM or SIGINT, which drain
 * in-flight requests and flush the prediction log. The API key, when wanted,
 * comes from FRAUDLAB_API_KEY (never a flag, so it stays out of `ps`).
 */
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";
import { startServer } from "./serve.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    port: { type: "string" },
    host: { type: "string" },
    model: { type: "string" },
    log: { type: "string" },
    history: { type: "string" },
    poll: { type: "string" },
  });
  const apiKey = Deno.env.get("FRAUDLAB_API_KEY") || null;
  const server = await startServer({
    port: intFlag(flags.port, "port", 8000, { min: 0, max: 65535 }),
    hostname: flags.host,
    model: flags.model,
    logPath: flags.log,
    history: flags.history,
    pollSeconds: intFlag(flags.poll, "poll", 2, { min: 0, max: 3600 }),
    apiKey,
  });
  if (apiKey) console.log("API key required for /v1/score, /v1/score/batch and /v1/feedback");
  console.log(`docs: ${server.url}/docs   metrics: ${server.url}/metrics`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, async () => {
      console.log(`${signal}: draining in-flight requests`);
      await server.stop();
      Deno.exit(0);
    });
  }
  Deno.addSignalListener("SIGHUP", () => void server.reload());
  await server.finished;
});
