import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Deferred, Effect, Fiber, type Scope } from "effect"

/**
 * Opens a transaction on its own pooled connection, runs `start` in it (typically taking row locks) and leaves it
 * open; `commit` runs `last` in the same transaction, then commits. Lets a test decide exactly what a concurrent
 * request sees and waits for.
 */
export const openTransaction = <A>(start: Effect.Effect<A, SqlError, SqlClient.SqlClient>): Effect.Effect<
  { readonly commit: (last?: Effect.Effect<unknown, SqlError>) => Effect.Effect<void> },
  never,
  SqlClient.SqlClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const started = yield* Deferred.make<void>()
    const finish = yield* Deferred.make<Effect.Effect<unknown, SqlError>>()
    const holder = yield* Effect.forkScoped(
      sql.withTransaction(
        start.pipe(
          Effect.zipRight(Deferred.succeed(started, undefined)),
          Effect.zipRight(Effect.flatten(Deferred.await(finish)))
        )
      ).pipe(Effect.orDie)
    )
    yield* Deferred.await(started)
    return {
      commit: (last = Effect.void) =>
        Deferred.succeed(finish, last).pipe(Effect.zipRight(Fiber.join(holder)), Effect.asVoid)
    }
  })

/** Succeeds when some statement of the current database waits on a lock; retry it to wait for one. */
export const someoneWaitsOnALock = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'`.pipe(Effect.orDie)
  if (row!.n === 0) return yield* Effect.fail("no statement waits on a lock yet")
})
