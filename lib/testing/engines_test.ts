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
