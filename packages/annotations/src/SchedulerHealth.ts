import { SqlClient } from "@effect/sql"
import { OperatorStatus } from "@findry/persistence"
import { Duration, Effect } from "effect"
import { AnnotationsConfig } from "./AnnotationsConfig.js"
import { clusterSharding } from "./Cluster.js"

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

    /** Annotation pushes due now that no runner has taken, and how long the oldest has waited. */
    const duePushes = Effect.map(operator.annotationBacklog, ({ due, oldestDueSeconds }) => ({ due, oldestDueSeconds }))

    return { stalledMessages, check, runnersAlive, duePushes } as const
  }),
  dependencies: [OperatorStatus.Default]
}) {}
