import { ClusterWorkflowEngine, SingleRunner } from "@effect/cluster"
import { Layer } from "effect"
import { clusterSharding } from "./ClusterSharding.js"
import { AnnotationPushLive } from "./PushAnnotationWorkflow.js"
import { RetentionPurgeLive } from "./RetentionPurge.js"
import { BacklogMetricsLive } from "./SchedulerHealth.js"

export { clusterSharding }

/**
 * Every job of this package for a runner: the annotation push (workflow + per-workspace entity), the
 * retention purge cron and the backlog metrics. Needs a `WorkflowEngine` on a cluster (`Sharding`), `AmplitudeClient`,
 * `AnnotationsConfig` and the `SqlClient`.
 */
export const AnnotationJobsLive = Layer.mergeAll(AnnotationPushLive, RetentionPurgeLive, BacklogMetricsLive)

/**
 * One process, no sockets: `SingleRunner` with SQL message storage on the given `SqlClient`, plus the
 * cluster workflow engine. Shard locks (`runnerStorage`) are Postgres advisory locks held on a reserved
 * connection (`"sql"`, the default; needs a pool of at least 2), or kept in memory (`"memory"`, for the
 * embedded one-connection PGlite, where only one process can use the database anyway).
 */
export const singleRunner = (options: { readonly runnerStorage?: "sql" | "memory" } = {}) =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(
      SingleRunner.layer({ runnerStorage: options.runnerStorage ?? "sql", shardingConfig: clusterSharding })
    )
  )
