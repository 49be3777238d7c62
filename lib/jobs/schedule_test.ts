import assert from "node:assert/strict";
import { jsonText } from "../registry/store.ts";
import {
  type JobOutput,
  nextOccurrence,
  resolveSchedule,
  type ScheduledJob,
  Scheduler,
  type ScheduleSpec,
  withDates,
} from "./schedule.ts";

const T0 = Date.UTC(2025, 2, 3, 10, 0); // a Monday, 10:00 UTC

/** A scheduler over `spec` on a fake clock; `run` decides what each attempt does. */
async function fake(
  spec: ScheduleSpec,
  run: (job: ScheduledJob, at: { scheduledFor: number; attempt: number }) => Promise<JobOutput>,
) {
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_schedule_" });
  const clock = { now: T0, sleeps: [] as number[] };
  const s = new Scheduler(resolveSchedule(spec), {
    dir,
    deps: {
      now: () => clock.now,
      sleep: (ms) => {
        clock.sleeps.push(ms);
        clock.now += ms;
        return Promise.resolve();
      },
      run,
    },
  });
  return { s, clock, dir };
}

const daily = (over: Record<string, unknown> = {}): ScheduleSpec => ({
  format: "fraudlab.schedule/1",
  jobs: {
    score: {
      cron: "0 2 * * *",
      kind: "score",
      with: { data: "in/${date}.csv", out: "out/${date}.csv" },
      ...over,
    },
  },
});

Deno.test("schedule: a failing job is retried with doubling backoff, then recorded as failed", async () => {
  let calls = 0;
  const { s, clock } = await fake(daily({ retries: 2, backoffSeconds: 30 }), () => {
    calls++;
    return calls < 3
      ? Promise.reject(new Error(`disk full (${calls})`))
      : Promise.resolve({ summary: "done" });
  });
  const [ok] = await s.fire("score");
  assert.equal(ok.status, "ok");
  assert.equal(ok.attempts, 3);
  assert.deepEqual(clock.sleeps, [30_000, 60_000]);
  const { s: s2 } = await fake(
    daily({ retries: 1, backoffSeconds: 5 }),
    () => Promise.reject(new Error("no such file")),
  );
  const [bad] = await s2.fire("score");
  assert.equal(bad.status, "failed");
  assert.equal(bad.attempts, 2);
  assert.equal(bad.error, "no such file");
  assert.deepEqual((await s2.history()).map((r) => r.status), ["failed"]);
});

Deno.test("schedule: a job never runs twice at once, in this process or another", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let runs = 0;
  const { s, dir } = await fake(daily(), async () => {
    runs++;
    await gate;
    return { summary: "slow" };
  });
  const first = s.fire("score");
  await new Promise((r) => setTimeout(r, 10));
  const [second] = await s.fire("score");
  assert.equal(second.status, "skipped");
  assert.match(second.summary!, /already running/);
  release();
  assert.equal((await first)[0].status, "ok");
  assert.equal(runs, 1);
  // A lock held by a live process (this one stands in for another scheduler) skips the run …
  await Deno.mkdir(`${dir}/.schedule-locks`, { recursive: true });
  await Deno.writeTextFile(`${dir}/.schedule-locks/score.lock`, String(Deno.pid));
  assert.equal((await s.fire("score"))[0].status, "skipped");
  // … one whose process is gone is taken over.
  await Deno.writeTextFile(`${dir}/.schedule-locks/score.lock`, "999999999");
  assert.equal((await s.fire("score"))[0].status, "ok");
  assert.equal(runs, 2);
});

Deno.test("schedule: runs missed while down are caught up once, for the latest occurrence", async () => {
  const seen: number[] = [];
  const { s, clock, dir } = await fake(daily(), (_job, at) => {
    seen.push(at.scheduledFor);
    return Promise.resolve({ summary: "ok" });
  });
  // First start: nothing to catch up, the job is registered from now.
  assert.deepEqual(await s.catchUp(), []);
  // Down for three days and a bit: 02:00 on the 4th, 5th and 6th were missed.
  clock.now = Date.UTC(2025, 2, 6, 9, 30);
  const caught = await s.catchUp();
  assert.equal(caught.length, 1);
  assert.equal(caught[0].trigger, "catch-up (3 missed)");
  assert.deepEqual(seen, [Date.UTC(2025, 2, 6, 2, 0)]);
  assert.deepEqual(await s.catchUp(), [], "caught up once only");
  // catchUp "none" records the skip and runs nothing.
  const state = JSON.parse(await Deno.readTextFile(`${dir}/schedule.state.json`));
  const { s: s2, clock: c2, dir: d2 } = await fake(daily({ catchUp: "none" }), () => {
    throw new Error("must not run");
  });
  await Deno.writeTextFile(`${d2}/schedule.state.json`, jsonText(state));
  c2.now = Date.UTC(2025, 2, 8, 12, 0);
  const skipped = await s2.catchUp();
  assert.equal(skipped[0].status, "skipped");
  assert.match(skipped[0].summary!, /2 missed runs not caught up/);
});

Deno.test("schedule: a job after a drift check runs only when drift was found; a failure stops what follows", async () => {
  const spec: ScheduleSpec = {
    format: "fraudlab.schedule/1",
    jobs: {
      check: {
        cron: "0 4 * * *",
        kind: "drift",
        with: { run: "r.json", data: "d.csv", out: "drift.json" },
      },
      retrain: {
        after: { job: "check", when: "drift" },
        kind: "pipeline",
        with: { file: "p.json" },
        retries: 0,
      },
      report: { after: { job: "retrain" }, kind: "pipeline", with: { file: "q.json" } },
    },
  };
  let drift = false, retrainFails = false;
  const ran: string[] = [];
  const { s } = await fake(spec, (job) => {
    ran.push(job.name);
    if (job.name === "retrain" && retrainFails) return Promise.reject(new Error("fit failed"));
    return Promise.resolve({ summary: job.name, drift: job.name === "check" ? drift : undefined });
  });
  await s.fire("check");
  assert.deepEqual(ran, ["check"]);
  drift = true;
  const recs = await s.fire("check");
  assert.deepEqual(recs.map((r) => `${r.job}:${r.trigger}`), [
    "check:cron",
    "retrain:after check",
    "report:after retrain",
  ]);
  retrainFails = true;
  ran.length = 0;
  const failed = await s.fire("check");
  assert.deepEqual(ran, ["check", "retrain"], "nothing after a failed retrain");
  assert.equal(failed.at(-1)!.status, "failed");
});

Deno.test("schedule: bad schedules name the job and what is wrong", () => {
  const bad = (jobs: Record<string, unknown>) => () =>
    resolveSchedule({ format: "fraudlab.schedule/1", jobs } as ScheduleSpec);
  assert.throws(
    bad({ a: { cron: "61 * * * *", kind: "score" } }),
    /job "a": bad cron expression "61 \* \* \* \*" \(Invalid value for minute: 61\)/,
  );
  assert.throws(
    bad({ a: { cron: "* * *", kind: "score" } }),
    /job "a": cron "\* \* \*" must have five fields/,
  );
  assert.throws(bad({ a: { cron: "0 2 * * *", kind: "bake" } }), /job "a": unknown kind "bake"/);
  assert.throws(bad({ a: { kind: "score" } }), /job "a": give exactly one of "cron" and "after"/);
  assert.throws(
    bad({ a: { after: { job: "b" }, kind: "score" } }),
    /runs after "b", which is not a job/,
  );
  assert.throws(
    bad({ a: { after: { job: "b" }, kind: "score" }, b: { after: { job: "a" }, kind: "score" } }),
    /form a cycle/,
  );
  assert.throws(
    bad({ a: { cron: "0 2 * * *", kind: "pipeline" } }),
    /a pipeline job needs "with": \{ "file"/,
  );
  assert.equal(nextOccurrence("0 2 * * *", Date.UTC(2025, 0, 1, 2, 0)), Date.UTC(2025, 0, 2, 2, 0));
  assert.deepEqual(
    withDates({ data: "in/${date}.csv", prev: ["${yesterday}"] }, Date.UTC(2025, 0, 1, 2)),
    {
      data: "in/2025-01-01.csv",
      prev: ["2024-12-31"],
    },
  );
});
