import { ClusterCron } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Cron, Duration, Effect } from "effect"
import { AnnotationsConfig } from "./AnnotationsConfig.js"

const SNOWFLAKE_EPOCH = 1735689600000
const BATCH = 5000

/**
 * Deletes finished workflow executions older than `olderThan` (docs/scheduler.md): every message and reply
 * of an execution whose `run` request has a final (non-suspended) reply, in batches. Running work is left
 * alone. The retention is also the window in which a late duplicate event is still recognised.
 * Returns the number of executions purged.
 */
export const purgeFinishedWorkflows = (olderThan: Duration.DurationInput) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const exists = yield* sql<{ present: boolean }>`SELECT to_regclass('cluster_messages') IS NOT NULL AS present`
    if (exists[0]?.present !== true) return 0
    const cutoff = Date.now() - Duration.toMillis(Duration.decode(olderThan)) - SNOWFLAKE_EPOCH
    let purged = 0
    for (;;) {
      const rows = yield* sql<{ executions: number }>`
        WITH done AS (
          SELECT m.entity_id FROM cluster_messages m
          JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
          WHERE m.tag = 'run' AND m.entity_type LIKE 'Workflow/%'
            AND r.payload NOT LIKE '%"Suspended"%'
            AND (m.id >> 22) < ${cutoff}
          LIMIT ${BATCH}),
        msgs AS (
          DELETE FROM cluster_messages m USING done d WHERE m.entity_id = d.entity_id RETURNING m.id),
        replies AS (
          DELETE FROM cluster_replies r USING msgs WHERE r.request_id = msgs.id RETURNING r.id)
        SELECT (SELECT count(*) FROM done)::int AS executions`.pipe(sql.withTransaction)
      const executions = rows[0]?.executions ?? 0
      purged += executions
      if (executions < BATCH) break
    }
    if (purged > 0) yield* Effect.logInfo("Purged finished workflow executions").pipe(Effect.annotateLogs({ purged }))
    return purged
  }).pipe(Effect.orDie, Effect.withSpan("RetentionPurge.purge"))

/** Daily at 03:17 UTC on one runner of the cluster. Needs `Sharding`, `SqlClient` and `AnnotationsConfig`. */
export const RetentionPurgeLive = ClusterCron.make({
  name: "FindryWorkflowRetention",
  cron: Cron.unsafeParse("17 3 * * *"),
  execute: Effect.flatMap(AnnotationsConfig, ({ retention }) => purgeFinishedWorkflows(retention)).pipe(Effect.asVoid)
})
