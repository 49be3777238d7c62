/**
 * Real engines for the tests, started on 127.0.0.1 from Debian's packages
 * (installed by `.ci/run`): a Redis server and a PostgreSQL cluster, each
 * in its own temporary folder on a port nobody else holds, stopped and
 * started again on the same port and data (the recovery tests), and
 * removed at the end. Nothing here is mocked: a missing package is an
 * error naming it.
 * @module
 */

/** A running engine. */
export interface Engine {
  /** How a client reaches it: `redis://127.0.0.1:PORT` or `postgres://postgres@127.0.0.1:PORT/postgres`. */
  url: string;
  port: number;
  /** Stops it (its data kept); resolves once the port is closed. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function run(cmd: string, args: string[], what: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${what}: ${cmd} is not installed (.ci/run installs it from Debian)`);
    }
    throw e;
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${what}: ${cmd} ${args.join(" ")} failed: ${text.trim()}`);
  return text;
}

/** Waits until `ready()` holds, up to `ms`. */
async function until(ready: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not ready after ${ms} ms`);
}

/** Whether something accepts connections on the port. */
async function listening(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** One Redis command over a new connection, its raw reply (RESP). */
export async function redisCommand(port: number, ...args: string[]): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const enc = new TextEncoder();
    const body = `*${args.length}\r\n` +
      args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join("");
    await c.write(enc.encode(body));
    const buf = new Uint8Array(64 * 1024);
    const n = await c.read(buf);
    return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    c.close();
  }
}

/**
 * Starts `redis-server` on 127.0.0.1 (no persistence to disk, no other
 * interface).
 */
export async function startRedis(): Promise<Engine> {
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_redis_" });
  const port = freePort();
  let child: Deno.ChildProcess | null = null;
  const start = async () => {
    try {
      child = new Deno.Command("redis-server", {
        args: [
          "--bind",
          "127.0.0.1",
          "--port",
          String(port),
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
          "--protected-mode",
          "yes",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error("redis: redis-server is not installed (.ci/run installs it from Debian)");
      }
      throw e;
    }
    await until(
      async () => {
        if (!(await listening(port))) return false;
        return (await redisCommand(port, "PING")).startsWith("+PONG");
      },
      20_000,
      "redis",
    );
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    child = null;
    c.kill("SIGTERM");
    await c.status;
    await until(async () => !(await listening(port)), 10_000, "redis stop");
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    close: async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/**
 * Starts a PostgreSQL 15 cluster on 127.0.0.1 (trust authentication for
 * the `postgres` user, sockets in its own folder). As root, the cluster is
 * made and run as the `postgres` user, which owns its folder.
 */
export async function startPostgres(): Promise<Engine> {
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_pg_" });
  const port = freePort();
  const root = Deno.uid() === 0;
  if (root) await run("chown", ["-R", "postgres:postgres", dir], "postgres");
  const as = (cmd: string, args: string[]) =>
    root
      ? run("runuser", ["-u", "postgres", "--", cmd, ...args], "postgres")
      : run(cmd, args, "postgres");
  await as(`${PG_BIN}/initdb`, [
    "-D",
    `${dir}/data`,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  const start = async () => {
    await as(`${PG_BIN}/pg_ctl`, [
      "-D",
      `${dir}/data`,
      "-l",
      `${dir}/log`,
      "-w",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "start",
    ]);
    await until(() => listening(port), 20_000, "postgres");
  };
  const stop = async () => {
    await as(`${PG_BIN}/pg_ctl`, ["-D", `${dir}/data`, "-w", "-m", "fast", "stop"]);
    await until(async () => !(await listening(port)), 10_000, "postgres stop");
  };
  await start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await stop();
      running = false;
    },
    start: async () => {
      await start();
      running = true;
    },
    close: async () => {
      if (running) await stop().catch(() => {});
      running = false;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Runs one SQL statement with `psql` against an engine from {@linkcode startPostgres}; its output. */
export function psql(engine: Engine, sql: string): Promise<string> {
  return run("psql", [
    "-h",
    "127.0.0.1",
    "-p",
    String(engine.port),
    "-U",
    "postgres",
    "-d",
    "postgres",
    "-At",
    "-c",
    sql,
  ], "psql");
}
