import { ClusterWorkflowEngine, type ShardingConfig, SingleRunner } from "@effect/cluster"
import { Duration, Layer } from "effect"
import { AnnotationPushLive } from "./PushAnnotationWorkflow.js"
import { RetentionPurgeLive } from "./RetentionPurge.js"
import { BacklogMetricsLive } from "./SchedulerHealth.js"

/**
 * Sharding settings every node of the cluster must share: runners (single or socket) and client-only
 * producers such as the API (a producer computes the shard of every message it enqueues). Intervals are
 * tuned down from the defaults so that a runner notices new work and replies within ~100 ms (measured:
 * `bench:annotations` went from 25 to 36 pushes/s on one runner and from 24 to 46/s on two, for a few cheap
 * polling queries a second) and another runner takes over a killed one's shards within seconds
 * (docs/scheduler.md#one-runner-or-n-runners).
 */
export const clusterSharding: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  shardsPerGroup: 100,
  entityMessagePollInterval: Duration.millis(100),
  entityReplyPollInterval: Duration.millis(50),
  refreshAssignmentsInterval: Duration.seconds(1),
  runnerHealthCheckInterval: Duration.seconds(3),
  shardLockRefreshInterval: Duration.seconds(2),
  shardLockExpiration: Duration.seconds(6)
}

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
