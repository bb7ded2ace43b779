import { SqlClient } from "@effect/sql"
import { Data, Duration, Effect, Schema } from "effect"

/** At most `max` uses of `key` in any `window`. A key always comes with the same window. */
export interface RateLimit {
  readonly key: string
  readonly max: number
  readonly window: Duration.DurationInput
}

/** `limit` allows no further use for `retryAfterSeconds`: the longest wait of the limits that were reached. */
export class RateLimitExceeded extends Data.TaggedError("RateLimitExceeded")<{
  readonly limit: RateLimit
  readonly retryAfterSeconds: number
}> {}

const Usage = Schema.Struct({
  key: Schema.String,
  used: Schema.Int,
  max: Schema.Int,
  retryAfterMs: Schema.NullOr(Schema.Number)
})
const decodeUsage = Schema.decodeUnknown(Schema.Array(Usage))

/** Expired uses deleted by each admission, so the table holds little more than the live windows. */
const PRUNE_BATCH = 100

/**
 * Counts uses of limited actions in PostgreSQL before the work starts, so parallel requests and every replica
 * share one count. A sliding log: each admitted use is a row, and a use is admitted only while fewer than `max`
 * rows of its key are younger than the window, which means at most `max` in any window (a token bucket or GCRA
 * would let a full burst through again before the window has passed). The keys' advisory locks serialise
 * admissions of one key, and the count is read after they are taken, so it sees every admission before it.
 */
export class RateLimits extends Effect.Service<RateLimits>()("@findry/persistence/RateLimits", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /**
     * One use under every limit in `limits`, or none: past any of them, `RateLimitExceeded` naming the one that
     * frees a use last.
     */
    const take = (limits: ReadonlyArray<RateLimit>): Effect.Effect<void, RateLimitExceeded> =>
      sql.withTransaction(Effect.gen(function*() {
        const keys = sql.join(", ", false)(limits.map((limit) => sql`(${limit.key})`))
        // Locked in hash order, so two admissions sharing keys never wait on each other in a cycle.
        yield* sql`
          SELECT pg_advisory_xact_lock(lock_id) FROM (
            SELECT DISTINCT hashtextextended(key, 0) AS lock_id FROM (VALUES ${keys}) AS limited (key)
            ORDER BY lock_id
          ) AS ordered`
        const values = sql.join(", ", false)(
          limits.map((limit) => sql`(${limit.key}, ${limit.max}::int, ${Duration.toMillis(limit.window)}::float8)`)
        )
        const rows = yield* sql`
          WITH clock AS (SELECT clock_timestamp() AS now),
          limits (key, max, window_ms) AS (VALUES ${values}),
          counted AS (
            SELECT limits.*, clock.now, clock.now - make_interval(secs => limits.window_ms / 1000) AS since,
              (SELECT count(*) FROM rate_limit_hits AS hit
               WHERE hit.key = limits.key AND hit.at > clock.now - make_interval(secs => limits.window_ms / 1000)
              )::int AS used
            FROM limits, clock
          ),
          usage AS (
            SELECT key, used, max, window_ms, now,
              (SELECT extract(epoch FROM hit.at - since) * 1000 FROM rate_limit_hits AS hit
               WHERE hit.key = counted.key AND hit.at > since
               ORDER BY hit.at OFFSET greatest(used - max, 0) LIMIT 1) AS retry_after_ms
            FROM counted
          ),
          admitted AS (
            INSERT INTO rate_limit_hits (key, at, expires_at)
            SELECT key, now, now + make_interval(secs => window_ms / 1000) FROM usage
            WHERE NOT EXISTS (SELECT 1 FROM usage WHERE used >= max)
          ),
          pruned AS (
            DELETE FROM rate_limit_hits WHERE id IN (
              SELECT id FROM rate_limit_hits WHERE expires_at < now() LIMIT ${PRUNE_BATCH} FOR UPDATE SKIP LOCKED
            )
          )
          SELECT key, used, max, retry_after_ms::float8 FROM usage`
        const usage = yield* decodeUsage(rows)
        const longest = usage
          .filter((limit) => limit.used >= limit.max)
          .map((limit) => ({ key: limit.key, waitMs: limit.retryAfterMs ?? 0 }))
          .sort((a, b) => b.waitMs - a.waitMs)[0]
        if (longest === undefined) return
        yield* Effect.annotateCurrentSpan("rateLimit.exceeded", longest.key)
        return yield* new RateLimitExceeded({
          limit: limits.find((limit) => limit.key === longest.key)!,
          retryAfterSeconds: Math.max(1, Math.ceil(longest.waitMs / 1000))
        })
      })).pipe(
        Effect.catchTags({ SqlError: Effect.die, ParseError: Effect.die }),
        Effect.withSpan("RateLimits.take", { attributes: { limits: limits.map((limit) => limit.key).join(" ") } })
      )

    return { take } as const
  })
}) {}
