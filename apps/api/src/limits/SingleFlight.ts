import { Deferred, Effect, type Scope } from "effect"

/**
 * Runs at most one effect per key at a time in this process: callers arriving while it runs wait for its result
 * instead of starting another. The work runs in `scope`, so a caller who gives up does not cancel it for the others.
 */
export const makeSingleFlight = <A, E>(scope: Scope.Scope) => {
  const running = new Map<string, Deferred.Deferred<A, E>>()
  return <R>(key: string, work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.fiberIdWith((fiberId) => {
      const joined = running.get(key)
      if (joined !== undefined) return Deferred.await(joined)
      const result = Deferred.unsafeMake<A, E>(fiberId)
      running.set(key, result)
      return Effect.intoDeferred(work, result).pipe(
        Effect.ensuring(Effect.sync(() => running.delete(key))),
        Effect.forkIn(scope),
        Effect.zipRight(Deferred.await(result))
      )
    })
}
