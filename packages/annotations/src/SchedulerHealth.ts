import { SqlClient } from "@effect/sql"
import { OperatorStatus } from "@findry/persistence"
import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import { AnnotationsConfig } from "./AnnotationsConfig.js"
import { clusterSharding } from "./ClusterSharding.js"

/** A runner is alive while its heartbeat is younger than its shard locks' expiry. */
const ALIVE_WITHIN_SECONDS = Math.ceil(Duration.toSeconds(clusterSharding.shardLockExpiration ?? Duration.seconds(6)))

/** Milliseconds between the Unix epoch and the cluster's snowflake epoch (2025-01-01T00:00:00Z). */
const SNOWFLAKE_EPOCH = 1735689600000

/**
 * The stall alarm (docs/scheduler.md#stall-alarm): a message that is due, unprocessed, and older than the threshold
 * means the runners stopped consuming (Effect-TS/effect#6248). `/readyz` reports it.
 */
export class SchedulerHealth extends Effect.Service<SchedulerHealth>()("@findry/annotations/SchedulerHealth", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { stallThreshold } = yield* AnnotationsConfig

    /** Due messages waiting longer than the threshold; 0 also when the cluster tables do not exist yet. */
    const stalledMessages: Effect.Effect<number> = Effect.gen(function*() {
      const exists = yield* sql<{ present: boolean }>`SELECT to_regclass('cluster_messages') IS NOT NULL AS present`
      if (exists[0]?.present !== true) return 0
      const thresholdMs = Duration.toMillis(stallThreshold)
      const rows = yield* sql<{ stalled: number }>`
        SELECT count(*)::int AS stalled FROM cluster_messages
        WHERE NOT processed
          AND coalesce(deliver_at, 0) <= extract(epoch FROM now()) * 1000
          AND ((id >> 22) + ${SNOWFLAKE_EPOCH}) < extract(epoch FROM now()) * 1000 - ${thresholdMs}`
      return rows[0]?.stalled ?? 0
    }).pipe(Effect.orDie, Effect.withSpan("SchedulerHealth.stalledMessages"))

    /** Due, unprocessed messages (workflow runs, entity requests, cron ticks) and the age of the oldest one. */
    const backlog: Effect.Effect<{ readonly due: number; readonly oldestDueSeconds: number }> = Effect.gen(function*() {
      const exists = yield* sql<{ present: boolean }>`SELECT to_regclass('cluster_messages') IS NOT NULL AS present`
      if (exists[0]?.present !== true) return { due: 0, oldestDueSeconds: 0 }
      const rows = yield* sql<{ due: number; oldestDueSeconds: number }>`
        SELECT count(*)::int AS due,
          coalesce(extract(epoch FROM now()) - min(greatest((id >> 22) + ${SNOWFLAKE_EPOCH}, coalesce(deliver_at, 0))) / 1000, 0)::float8
            AS oldest_due_seconds
        FROM cluster_messages
        WHERE NOT processed AND coalesce(deliver_at, 0) <= extract(epoch FROM now()) * 1000`
      const row = rows[0]
      return { due: row?.due ?? 0, oldestDueSeconds: Math.max(0, row?.oldestDueSeconds ?? 0) }
    }).pipe(Effect.orDie, Effect.withSpan("SchedulerHealth.backlog"))

    const check: Effect.Effect<"ok" | "failing"> = stalledMessages.pipe(
      Effect.timeout("2 seconds"),
      Effect.map((stalled) => stalled > 0 ? "failing" as const : "ok" as const),
      Effect.catchAllCause(() => Effect.succeed("failing" as const)),
      Effect.withSpan("SchedulerHealth.check")
    )

    const operator = yield* OperatorStatus

    /** Scheduler runners with a fresh heartbeat in the cluster's runner table (0 before any runner started). */
    const runnersAlive: Effect.Effect<number> = operator.runners(ALIVE_WITHIN_SECONDS).pipe(
      Effect.map((runners) => runners.filter((runner) => runner.alive).length),
      Effect.withSpan("SchedulerHealth.runnersAlive")
    )

    return { stalledMessages, backlog, check, runnersAlive } as const
  }),
  dependencies: [OperatorStatus.Default]
}) {}

/** Due scheduler messages waiting now (all runners), sampled every `BACKLOG_SAMPLE_INTERVAL`. */
export const dueBacklog = Metric.gauge("scheduler.backlog.due", {
  description: "Due, unprocessed scheduler messages (workflow runs, entity requests, cron ticks)"
})

/** Seconds the oldest due, unprocessed message has waited since it became due. */
export const oldestDueAge: Metric.Metric.Gauge<number> = Metric.gauge("scheduler.backlog.oldest_due_age", {
  description: "Seconds the oldest due, unprocessed scheduler message has waited"
}).pipe(Metric.tagged("unit", "s"))

export const BACKLOG_SAMPLE_INTERVAL = Duration.seconds(15)

/** Samples the backlog into `scheduler.backlog.*` while the runner lives; a failed sample is skipped. */
export const BacklogMetricsLive = Layer.scopedDiscard(Effect.gen(function*() {
  const health = yield* SchedulerHealth
  yield* health.backlog.pipe(
    Effect.timeout("5 seconds"),
    Effect.flatMap(({ due, oldestDueSeconds }) =>
      Effect.zipRight(Metric.set(dueBacklog, due), Metric.set(oldestDueAge, oldestDueSeconds))
    ),
    Effect.catchAllCause(() => Effect.void),
    Effect.repeat(Schedule.spaced(BACKLOG_SAMPLE_INTERVAL)),
    Effect.forkScoped
  )
})).pipe(Layer.provide(SchedulerHealth.Default))
