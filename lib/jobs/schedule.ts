/**
 * Scheduled jobs, after Prefect's and Airflow's: each job of a schedule
 * file runs on a cron expression (UTC) or after another job (on success, or
 * when a drift job found drift), never twice at once, with retries and
 * backoff, a run history, and a catch-up rule for runs missed while nothing
 * was running.
 *
 * A job is a pipeline stage kind with its settings (`${date}` and
 * `${yesterday}` are the scheduled day and the day before, YYYY-MM-DD, so a
 * daily job scores that day's file) or `pipeline` (a pipeline file, run as
 * `deno task pipeline` runs it: a weekly retrain that gates its challenger).
 * A failing job is retried `retries` times, waiting `backoffSeconds`, then
 * twice as long each time; a job that still fails is recorded as failed
 * with its error, and nothing after it runs: a failed retrain never reaches
 * its gate, so the champion is untouched.
 *
 * Beside the schedule file: `schedule.history.jsonl` (one line per run:
 * job, scheduled time, start, end, status, attempts, summary or error),
 * `schedule.state.json` (each job's last scheduled time, for catch-up) and
 * `.schedule-locks/` (a file per running job holding its process id: a
 * second scheduler process, or `--once` from the system cron, skips a job
 * that is running and records the skip; a lock whose process is gone is
 * taken over).
 *
 * The clock, the sleep between retries and the job runner are injectable
 * ({@linkcode SchedulerDeps}), so the rules are tested with a fake clock.
 * @module
 */
import { Cron } from "croner";
import { dirname, join, resolve } from "node:path";
import { artifactsRoot, jsonText, writeAtomic } from "../registry/store.ts";
import { UserError } from "../util/errors.ts";
import { DAY_MS } from "../util/time.ts";
import { readDefinition, runPipeline, STAGE_KINDS, type StageSettings } from "./pipeline.ts";

/** One job of a schedule file. */
export interface JobSpec {
  /** Cron expression, five fields, UTC (minute hour day-of-month month day-of-week). */
  cron?: string;
  /** Or: run after another job finishes (`when`: "success", or "drift" when it found drift). */
  after?: { job: string; when?: "success" | "drift" };
  /** A pipeline stage kind, or "pipeline". */
  kind: string;
  /** The kind's settings; for "pipeline": { file, force? }. */
  with?: StageSettings;
  /** Retries after a failure. Default 2. */
  retries?: number;
  /** Wait before the first retry, seconds (doubled each time). Default 60. */
  backoffSeconds?: number;
  /** Runs missed while no scheduler ran: "once" runs the latest of them once (default), "none" skips them. */
  catchUp?: "once" | "none";
}

/** A schedule file. */
export interface ScheduleSpec {
  format: "fraudlab.schedule/1";
  jobs: Record<string, JobSpec>;
}

/** A job with its defaults filled in. */
export interface ScheduledJob extends Required<Omit<JobSpec, "cron" | "after" | "with">> {
  name: string;
  cron: string | null;
  after: { job: string; when: "success" | "drift" } | null;
  with: StageSettings;
}

/** What running a job gave. */
export interface JobOutput {
  summary: string;
  /** A drift job's verdict (for jobs that run after it `when: "drift"`). */
  drift?: boolean;
}

/** One line of the run history. */
export interface RunRecord {
  job: string;
  /** The occurrence it ran for (ISO). */
  scheduled_for: string;
  started: string;
  finished: string;
  status: "ok" | "failed" | "skipped";
  attempts: number;
  seconds: number;
  /** What triggered it: cron, catch-up, after JOB, once. */
  trigger: string;
  summary?: string;
  error?: string;
}

/** What a {@linkcode Scheduler} reads the time from, waits with and runs jobs with. */
export interface SchedulerDeps {
  now(): number;
  sleep(ms: number): Promise<void>;
  run(job: ScheduledJob, at: { scheduledFor: number; attempt: number }): Promise<JobOutput>;
}

/** The next occurrence of a cron expression strictly after `after` (epoch ms, UTC), or null. */
export function nextOccurrence(expr: string, after: number): number | null {
  const next = new Cron(expr, { paused: true, timezone: "Etc/UTC" }).nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/** Checks a cron expression (five fields); throws a one-line error naming it and the job. */
function checkCron(job: string, expr: unknown): string {
  if (typeof expr !== "string" || expr.trim().split(/\s+/).length !== 5) {
    throw new UserError(
      `job "${job}": cron ${
        JSON.stringify(expr)
      } must have five fields (minute hour day month weekday)`,
    );
  }
  try {
    new Cron(expr, { paused: true, timezone: "Etc/UTC" });
  } catch (e) {
    throw new UserError(
      `job "${job}": bad cron expression "${expr}" (${
        (e as Error).message.replace(/^CronPattern: /, "")
      })`,
    );
  }
  return expr;
}

/**
 * Checks a schedule and fills in defaults: every job has a known kind and
 * exactly one of `cron` and `after` (naming a job of the schedule, with no
 * cycle of `after`s).
 *
 * @param spec the parsed schedule file
 * @returns the jobs by name
 *
 * @example
 * ```ts
 * import { resolveSchedule } from "./schedule.ts";
 * const jobs = resolveSchedule({
 *   format: "fraudlab.schedule/1",
 *   jobs: { nightly: { cron: "0 2 * * *", kind: "pipeline", with: { file: "pipeline.json" } } },
 * });
 * console.log(jobs.nightly.retries, jobs.nightly.catchUp); // 2 once
 * ```
 */
export function resolveSchedule(spec: ScheduleSpec): Record<string, ScheduledJob> {
  if (!spec || spec.format !== "fraudlab.schedule/1" || typeof spec.jobs !== "object") {
    throw new UserError(
      `not a schedule file (expected "format": "fraudlab.schedule/1" and "jobs")`,
    );
  }
  const jobs: Record<string, ScheduledJob> = {};
  for (const [name, j] of Object.entries(spec.jobs)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new UserError(
        `job "${name.slice(0, 80)}": names are letters, digits, _ . - (at most 64)`,
      );
    }
    if (j.kind !== "pipeline" && !STAGE_KINDS[j.kind]) {
      throw new UserError(
        `job "${name}": unknown kind "${j.kind}" (known: pipeline, ${
          Object.keys(STAGE_KINDS).join(", ")
        })`,
      );
    }
    if ((j.cron === undefined) === (j.after === undefined)) {
      throw new UserError(`job "${name}": give exactly one of "cron" and "after"`);
    }
    const retries = j.retries ?? 2, backoff = j.backoffSeconds ?? 60;
    if (!(Number.isInteger(retries) && retries >= 0 && retries <= 20)) {
      throw new UserError(`job "${name}": retries must be an integer in [0, 20], got ${j.retries}`);
    }
    if (!(Number.isFinite(backoff) && backoff >= 0 && backoff <= 86_400)) {
      throw new UserError(
        `job "${name}": backoffSeconds must be in [0, 86400], got ${j.backoffSeconds}`,
      );
    }
    const catchUp = j.catchUp ?? "once";
    if (catchUp !== "once" && catchUp !== "none") {
      throw new UserError(
        `job "${name}": catchUp must be "once" or "none", got ${JSON.stringify(j.catchUp)}`,
      );
    }
    if (j.kind === "pipeline" && typeof j.with?.file !== "string") {
      throw new UserError(`job "${name}": a pipeline job needs "with": { "file": … }`);
    }
    jobs[name] = {
      name,
      kind: j.kind,
      cron: j.cron === undefined ? null : checkCron(name, j.cron),
      after: j.after ? { job: j.after.job, when: j.after.when ?? "success" } : null,
      with: j.with ?? {},
      retries,
      backoffSeconds: backoff,
      catchUp,
    };
  }
  for (const job of Object.values(jobs)) {
    const seen = [job.name];
    for (let a = job.after; a; a = jobs[a.job]?.after ?? null) {
      if (!jobs[a.job]) {
        throw new UserError(`job "${job.name}": runs after "${a.job}", which is not a job`);
      }
      if (seen.includes(a.job)) {
        throw new UserError(
          `job "${job.name}": its "after" jobs form a cycle (${[...seen, a.job].join(" → ")})`,
        );
      }
      seen.push(a.job);
    }
  }
  return jobs;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `${date}` and `${yesterday}` in every string setting. */
export function withDates(settings: StageSettings, scheduledFor: number): StageSettings {
  const sub = (v: unknown): unknown =>
    typeof v === "string"
      ? v.replaceAll("${date}", day(scheduledFor)).replaceAll(
        "${yesterday}",
        day(scheduledFor - DAY_MS),
      )
      : Array.isArray(v)
      ? v.map(sub)
      : v && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x)]))
      : v;
  return sub(settings) as StageSettings;
}

/** The runner `deno task schedule` uses: a stage kind's job, or a pipeline file. */
export function defaultRunner(
  options: { dir: string; root?: string },
): SchedulerDeps["run"] {
  const path = (p: string) => resolve(options.dir, p);
  return async (job, at) => {
    const settings = withDates(job.with, at.scheduledFor);
    if (job.kind === "pipeline") {
      const outcomes = await runPipeline({
        file: path(String(settings.file)),
        force: settings.force as string[] | undefined,
        root: options.root,
        quiet: true,
      });
      const ran = outcomes.filter((o) => o.action === "ran");
      return {
        summary: `${ran.length} of ${outcomes.length} stages ran${
          ran.length ? `: ${ran.map((o) => `${o.name} (${o.summary})`).join("; ")}` : ""
        }`,
      };
    }
    const summary = await STAGE_KINDS[job.kind].run(settings, {
      root: options.root ?? artifactsRoot(),
      quiet: true,
      path,
    });
    if (job.kind !== "drift") return { summary };
    const verdict = JSON.parse(await Deno.readTextFile(path(String(settings.out))));
    return { summary, drift: verdict.drift === true };
  };
}

function processAlive(pid: number): boolean {
  try {
    return Deno.statSync(`/proc/${pid}`).isDirectory;
  } catch {
    return false;
  }
}

/** Runs the jobs of a schedule (see the module doc). */
export class Scheduler {
  readonly jobs: Record<string, ScheduledJob>;
  readonly #dir: string;
  readonly #deps: SchedulerDeps;
  readonly #running = new Set<string>();

  constructor(jobs: Record<string, ScheduledJob>, options: { dir: string; deps: SchedulerDeps }) {
    this.jobs = jobs;
    this.#dir = options.dir;
    this.#deps = options.deps;
  }

  get #historyPath(): string {
    return join(this.#dir, "schedule.history.jsonl");
  }

  get #statePath(): string {
    return join(this.#dir, "schedule.state.json");
  }

  /** Every recorded run, oldest first. */
  async history(): Promise<RunRecord[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#historyPath);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  async #state(): Promise<Record<string, number>> {
    try {
      return JSON.parse(await Deno.readTextFile(this.#statePath));
    } catch {
      return {};
    }
  }

  async #record(r: RunRecord): Promise<void> {
    await Deno.writeTextFile(this.#historyPath, JSON.stringify(r) + "\n", { append: true });
  }

  /**
   * At start: a cron job whose occurrences passed since its last scheduled
   * run gets one run for the latest of them (catch-up "once") or none
   * ("none", recorded as skipped); a job never scheduled before starts from
   * now.
   */
  async catchUp(): Promise<RunRecord[]> {
    const state = await this.#state();
    const now = this.#deps.now();
    const out: RunRecord[] = [];
    for (const job of Object.values(this.jobs)) {
      if (!job.cron) continue;
      const last = state[job.name];
      if (last === undefined) {
        await this.#mark(job.name, now);
        continue;
      }
      let missed = 0, latest = last;
      for (let t = nextOccurrence(job.cron, last); t !== null && t <= now && missed < 10_000;) {
        missed++;
        latest = t;
        t = nextOccurrence(job.cron, t);
      }
      if (missed === 0) continue;
      if (job.catchUp === "once") {
        out.push(
          ...await this.fire(job.name, {
            scheduledFor: latest,
            trigger: `catch-up (${missed} missed)`,
          }),
        );
      } else {
        const at = new Date(now).toISOString();
        const r: RunRecord = {
          job: job.name,
          scheduled_for: new Date(latest).toISOString(),
          started: at,
          finished: at,
          status: "skipped",
          attempts: 0,
          seconds: 0,
          trigger: "catch-up",
          summary: `${missed} missed runs not caught up (catchUp: none)`,
        };
        await this.#record(r);
        await this.#mark(job.name, latest);
        out.push(r);
      }
    }
    return out;
  }

  async #mark(job: string, scheduledFor: number): Promise<void> {
    const state = await this.#state();
    state[job] = Math.max(state[job] ?? -Infinity, scheduledFor);
    await writeAtomic(this.#statePath, jsonText(state));
  }

  /** Takes the job's lock file; false when another live process holds it. */
  async #lock(job: string): Promise<boolean> {
    const dir = join(this.#dir, ".schedule-locks");
    await Deno.mkdir(dir, { recursive: true });
    const file = join(dir, `${job}.lock`);
    for (let tries = 0; tries < 2; tries++) {
      try {
        await Deno.writeTextFile(file, String(Deno.pid), { createNew: true });
        return true;
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        const pid = Number((await Deno.readTextFile(file).catch(() => "")).trim());
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return false;
        await Deno.remove(file).catch(() => {}); // its process is gone: take it over
      }
    }
    return false;
  }

  async #unlock(job: string): Promise<void> {
    await Deno.remove(join(this.#dir, ".schedule-locks", `${job}.lock`)).catch(() => {});
  }

  /**
   * Runs one job for an occurrence: skipped (and recorded) when it is
   * already running; else with retries and backoff, recorded, then the jobs
   * that run after it. Returns the records of this run and those after it.
   */
  async fire(
    name: string,
    at: { scheduledFor?: number; trigger?: string } = {},
  ): Promise<RunRecord[]> {
    const job = this.jobs[name];
    if (!job) {
      throw new UserError(`no job "${name}" (jobs: ${Object.keys(this.jobs).join(", ")})`);
    }
    const deps = this.#deps;
    const scheduledFor = at.scheduledFor ?? deps.now();
    const trigger = at.trigger ?? "cron";
    const started = deps.now();
    const base = {
      job: name,
      scheduled_for: new Date(scheduledFor).toISOString(),
      started: new Date(started).toISOString(),
      trigger,
    };
    if (this.#running.has(name) || !(await this.#lock(name))) {
      const r: RunRecord = {
        ...base,
        finished: base.started,
        status: "skipped",
        attempts: 0,
        seconds: 0,
        summary: "already running: this run is skipped",
      };
      await this.#record(r);
      return [r];
    }
    this.#running.add(name);
    let record: RunRecord, output: JobOutput | null = null;
    try {
      let attempt = 0, error = "";
      while (true) {
        attempt++;
        try {
          output = await deps.run(job, { scheduledFor, attempt });
          break;
        } catch (e) {
          error = (e as Error).message.split("\n")[0];
          if (attempt > job.retries) break;
          await deps.sleep(job.backoffSeconds * 1000 * 2 ** (attempt - 1));
        }
      }
      const finished = deps.now();
      record = {
        ...base,
        finished: new Date(finished).toISOString(),
        status: output ? "ok" : "failed",
        attempts: attempt,
        seconds: (finished - started) / 1000,
        ...(output ? { summary: output.summary } : { error }),
      };
      await this.#record(record);
      if (job.cron) await this.#mark(name, scheduledFor);
    } finally {
      this.#running.delete(name);
      await this.#unlock(name);
    }
    const out = [record];
    if (output) {
      for (const next of Object.values(this.jobs)) {
        if (next.after?.job !== name) continue;
        if (next.after.when === "drift" && output.drift !== true) continue;
        out.push(...await this.fire(next.name, { scheduledFor, trigger: `after ${name}` }));
      }
    }
    return out;
  }
}

/** Reads and checks a schedule file; the folder beside it keeps its history. */
export function loadSchedule(
  file: string,
): Promise<{ jobs: Record<string, ScheduledJob>; dir: string }> {
  return readDefinition(file, (v) => ({
    jobs: resolveSchedule(v as ScheduleSpec),
    dir: dirname(resolve(file)),
  }));
}
