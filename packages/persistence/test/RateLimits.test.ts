import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer } from "effect"
import { PgLive } from "../src/Database.js"
import { type RateLimit, RateLimits } from "../src/RateLimits.js"
import { TestDatabase, TestSqlLive } from "../src/Testing.js"

let counter = 0
const freshKey = (label: string) => `${label}:${process.pid}:${++counter}`

const fiveAMinute = (key: string): RateLimit => ({ key, max: 5, window: "60 seconds" })

/** Uses of `key` recorded `secondsAgo`, as an earlier admission would have left them. */
const usedAgo = (key: string, secondsAgo: number, times: number, windowSeconds = 60) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO rate_limit_hits (key, at, expires_at)
      SELECT ${key}, now() - make_interval(secs => ${secondsAgo}),
        now() - make_interval(secs => ${secondsAgo}) + make_interval(secs => ${windowSeconds})
      FROM generate_series(1, ${times})`).pipe(Effect.orDie)

const rowsOf = (key: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ count: number }>`SELECT count(*)::int AS count FROM rate_limit_hits WHERE key = ${key}`
  ).pipe(
    Effect.map((rows) => rows[0]!.count),
    Effect.orDie
  )

/** A separate pool on the test database: another process, as far as PostgreSQL can tell. */
const otherPool = Effect.gen(function*() {
  const database = yield* TestDatabase
  const context = yield* Layer.build(
    RateLimits.Default.pipe(Layer.provide(PgLive(database.url, { maxConnections: 5 })))
  )
  return Context.get(context, RateLimits)
})

describe("rate limits", () => {
  layer(RateLimits.Default.pipe(Layer.provideMerge(TestSqlLive())), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("admit exactly the limit out of 24 concurrent attempts, also from two pools", () =>
      Effect.gen(function*() {
        const database = yield* TestDatabase
        const here = yield* RateLimits
        // The embedded database serves one connection: there is no second pool to race with.
        const there = database.kind === "pglite" ? here : yield* otherPool
        const key = freshKey("burst")
        const attempts = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? here : there).take([fiveAMinute(key)]))
        const results = yield* Effect.all(attempts.map(Effect.either), { concurrency: "unbounded" })
        assert.strictEqual(results.filter(Either.isRight).length, 5)
        for (const refused of results.filter(Either.isLeft)) {
          assert.strictEqual(refused.left._tag, "RateLimitExceeded")
          assert.strictEqual(refused.left.limit.key, key)
          assert.isAtLeast(refused.left.retryAfterSeconds, 1)
          assert.isAtMost(refused.left.retryAfterSeconds, 60)
        }
        assert.strictEqual(yield* rowsOf(key), 5)
      }).pipe(Effect.scoped))

    it.effect("count a use for every limit at once, or for none", () =>
      Effect.gen(function*() {
        const limits = yield* RateLimits
        const once: RateLimit = { key: freshKey("once"), max: 1, window: "1 hour" }
        const shared = fiveAMinute(freshKey("shared"))
        yield* limits.take([once, shared])
        const refused = yield* Effect.flip(limits.take([shared, once]))
        assert.strictEqual(refused.limit.key, once.key)
        assert.isAbove(refused.retryAfterSeconds, 3500)
        assert.strictEqual(yield* rowsOf(shared.key), 1, "the refused attempt left no use of the other limit")
        for (let use = 0; use < 4; use++) yield* limits.take([shared])
        const full = yield* Effect.flip(limits.take([shared]))
        assert.strictEqual(full.limit.key, shared.key)
        assert.isAtMost(full.retryAfterSeconds, 60, "until the first use of this minute leaves")
      }))

    it.effect("forget uses older than the window, and say when the oldest one in it leaves", () =>
      Effect.gen(function*() {
        const limits = yield* RateLimits
        const key = freshKey("sliding")
        yield* usedAgo(key, 61, 5)
        yield* limits.take([fiveAMinute(key)])
        yield* usedAgo(key, 50, 1)
        yield* usedAgo(key, 20, 3)
        const refused = yield* Effect.flip(limits.take([fiveAMinute(key)]))
        assert.strictEqual(refused.retryAfterSeconds, 10, "the use of 50 s ago frees a place in 10 s")
      }))

    it.effect("delete expired uses of any key as new ones are admitted, so the table does not grow", () =>
      Effect.gen(function*() {
        const limits = yield* RateLimits
        const abandoned = freshKey("abandoned")
        yield* usedAgo(abandoned, 3600, 50)
        yield* limits.take([fiveAMinute(freshKey("active"))])
        assert.strictEqual(yield* rowsOf(abandoned), 0)
      }))
  })
})
