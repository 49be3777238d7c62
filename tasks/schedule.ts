/**
 * `deno task schedule [--file schedule.json]`: runs the jobs of a schedule
 * file on their cron expressions (Deno.cron, UTC), first catching up runs
 * missed while it was not running. `--once JOB` runs one job now (for CI
 * and the system cron), `--history` prints the run history, `--init`
 * writes an example schedule. The work is the schedule job
 * (`lib/jobs/schedule.ts`).
 */
import {
  defaultRunner,
  loadSchedule,
  type RunRecord,
  Scheduler,
  type ScheduleSpec,
} from "../lib/jobs/schedule.ts";
import { jsonText } from "../lib/registry/store.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";
import { UserError } from "../lib/util/errors.ts";
import { table } from "../lib/util/table.ts";

const EXAMPLE: ScheduleSpec = {
  format: "fraudlab.schedule/1",
  jobs: {
    score_daily: {
      cron: "30 1 * * *",
      kind: "score",
      with: {
        model: "pipeline@champion",
        data: "data/incoming/${yesterday}.csv",
        out: "scores/${yesterday}.csv",
      },
    },
    drift_daily: {
      cron: "0 2 * * *",
      kind: "drift",
      with: {
        run: "artifacts/pipeline/train_gbdt.json",
        data: "data/incoming/${yesterday}.csv",
        out: "reports/drift/${yesterday}.json",
      },
    },
    retrain_weekly: { cron: "0 3 * * 1", kind: "pipeline", with: { file: "pipeline.json" } },
    retrain_on_drift: {
      after: { job: "drift_daily", when: "drift" },
      kind: "pipeline",
      with: { file: "pipeline.json", force: ["train_gbdt"] },
    },
  },
};

function line(r: RunRecord): string {
  return `${r.job} ${r.status} (${r.trigger}, ${r.attempts} attempt${
    r.attempts === 1 ? "" : "s"
  }, ${r.seconds.toFixed(1)}s): ${r.error ?? r.summary ?? ""}`;
}

await runTask(async (args) => {
  const flags = parseFlags(args, {
    file: { type: "string", default: "schedule.json", help: "the schedule file" },
    once: { type: "string", help: "run this job now (and the jobs after it), then exit" },
    history: { type: "boolean", default: false, help: "print the run history" },
    job: { type: "string", help: "with --history: only this job" },
    last: { type: "string", default: "20", help: "with --history: how many runs" },
    init: { type: "boolean", default: false, help: "write an example schedule to --file" },
  }, {
    usage: "deno task schedule [--file schedule.json] [--once JOB | --history | --init]",
    about:
      "Run scheduled jobs (cron, UTC): no overlaps, retries with backoff, catch-up, a run history.",
    examples: [
      "deno task schedule --init && deno task schedule",
      "deno task schedule --once retrain_weekly",
      "deno task schedule --history --job score_daily",
    ],
  });
  const file = flags.file as string;
  if (flags.init) {
    try {
      await Deno.writeTextFile(file, jsonText(EXAMPLE), { createNew: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) {
        throw new UserError(`${file} already exists: --init writes a new file only`);
      }
      throw e;
    }
    console.log(`wrote ${file} (${Object.keys(EXAMPLE.jobs).length} jobs)`);
    return;
  }
  const { jobs, dir } = await loadSchedule(file);
  const scheduler = new Scheduler(jobs, {
    dir,
    deps: {
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      run: defaultRunner({ dir }),
    },
  });
  if (flags.history) {
    const last = intFlag(flags.last as string, { name: "last", fallback: 20, min: 1 });
    const runs = (await scheduler.history()).filter((r) => !flags.job || r.job === flags.job)
      .slice(-last);
    console.log(table(
      ["job", "scheduled", "status", "attempts", "seconds", "trigger", "summary or error"],
      runs.map((r) => [
        r.job,
        r.scheduled_for.slice(0, 16).replace("T", " "),
        r.status,
        String(r.attempts),
        r.seconds.toFixed(1),
        r.trigger,
        (r.error ?? r.summary ?? "").slice(0, 100),
      ]),
    ));
    return;
  }
  if (flags.once) {
    const records = await scheduler.fire(flags.once as string, { trigger: "once" });
    for (const r of records) console.log(line(r));
    if (records.some((r) => r.status === "failed")) Deno.exit(1);
    return;
  }
  for (const r of await scheduler.catchUp()) console.log(line(r));
  const cron = (Deno as unknown as {
    cron?: (name: string, schedule: string, handler: () => Promise<void>) => Promise<void>;
  }).cron;
  if (!cron) throw new UserError("Deno.cron is not available: run with --unstable-cron");
  for (const job of Object.values(jobs)) {
    if (!job.cron) continue;
    cron(`fraudlab ${job.name}`, job.cron, async () => {
      const minute = Math.floor(Date.now() / 60_000) * 60_000;
      for (const r of await scheduler.fire(job.name, { scheduledFor: minute })) {
        console.log(line(r));
      }
    });
    console.log(`scheduled ${job.name}: ${job.cron} (UTC)`);
  }
});
