import { Duration, Effect, Schedule } from "effect"

/** Re-runs `check` until it succeeds or the deadline passes; the last failure is kept. */
export const eventually = <A, E, R>(
  check: Effect.Effect<A, E, R>,
  deadline: Duration.DurationInput = "10 seconds"
): Effect.Effect<A, E, R> =>
  check.pipe(
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo(Duration.decode(deadline))))
  )
