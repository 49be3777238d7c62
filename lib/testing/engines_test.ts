import assert from "node:assert/strict";
import { psql, redisCommand, startPostgres, startRedis } from "./engines.ts";

Deno.test("engines: a real Redis on 127.0.0.1 answers, goes away when stopped, and comes back", async () => {
  const redis = await startRedis();
  try {
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await redisCommand(redis.port, "SET", "k", "v1"), "+OK\r\n");
    assert.equal(await redisCommand(redis.port, "GET", "k"), "$2\r\nv1\r\n");
    await redis.stop();
    await assert.rejects(() => redisCommand(redis.port, "PING"), Deno.errors.ConnectionRefused);
    await redis.start();
    assert.equal(await redisCommand(redis.port, "PING"), "+PONG\r\n");
    assert.equal(await redisCommand(redis.port, "GET", "k"), "$-1\r\n", "no persistence to disk");
  } finally {
    await redis.close();
  }
});

Deno.test("engines: a real PostgreSQL on 127.0.0.1 keeps its data across a stop and a start", async () => {
  const pg = await startPostgres();
  try {
    assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    assert.match(await psql(pg, "select version()"), /^PostgreSQL 15\./);
    await psql(pg, "create table t (x int); insert into t values (41), (1)");
    await pg.stop();
    await assert.rejects(() => psql(pg, "select 1"), /psql/);
    await pg.start();
    assert.equal((await psql(pg, "select sum(x) from t")).trim(), "42");
  } finally {
    await pg.close();
  }
});

Deno.test("engines: the kept clients work under Deno against them (ioredis: a Lua script; postgres.js: a multi-row insert)", async () => {
  const { Redis } = await import("ioredis");
  const { default: postgres } = await import("postgres");
  const redis = await startRedis();
  const pg = await startPostgres();
  const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    await r.connect();
    const script =
      "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]); return redis.call('ZCARD', KEYS[1])";
    assert.equal(await r.eval(script, 1, "e:c1", 1000, "t1"), 1);
    assert.equal(await r.eval(script, 1, "e:c1", 2000, "t2"), 2);
    await sql`create table p (id text primary key, score double precision)`;
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: `t${i}`, score: i / 500 }));
    await sql`insert into p ${sql(rows, "id", "score")}`;
    const [{ n, total }] = await sql`select count(*)::int as n, sum(score) as total from p`;
    assert.equal(n, 500);
    assert.ok(Math.abs(total - rows.reduce((s, x) => s + x.score, 0)) < 1e-9, String(total));
  } finally {
    r.disconnect();
    await sql.end({ timeout: 5 });
    await redis.close();
    await pg.close();
  }
});
