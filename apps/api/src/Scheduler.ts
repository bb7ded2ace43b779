import { ClusterWorkflowEngine } from "@effect/cluster"
import { NodeClusterSocket } from "@effect/platform-node"
import { AnnotationJobsLive, clusterSharding, singleRunner } from "@findry/annotations"
import { ExperimentSyncJobsLive } from "@findry/experiment-sync"
import { OutcomeSweepLive } from "@findry/outcomes"
import { Config, Effect, Layer, Option } from "effect"

/**
 * The scheduler jobs this process runs in embedded mode (`pnpm start`). Keep this list in step with
 * `apps/scheduler/src/Jobs.ts`: register a new workflow, entity or cron layer in both.
 */
export const EmbeddedJobsLive = Layer.mergeAll(AnnotationJobsLive, OutcomeSweepLive(), ExperimentSyncJobsLive)

/**
 * Runs the scheduler inside the API process: `SingleRunner` with SQL message storage on the API's own
 * pool. On the embedded one-connection PGlite, shard locks stay in memory (`runnerStorage: "memory"`): the
 * SQL runner storage would hold the only connection for its advisory locks.
 */
export const embeddedScheduler = (runnerStorage: "sql" | "memory") =>
  EmbeddedJobsLive.pipe(Layer.provideMerge(singleRunner({ runnerStorage })))

/** Enqueues into the scheduler's cluster without running any job (the runners are separate processes). */
export const ClientOnlyScheduler = ClusterWorkflowEngine.layer.pipe(
  Layer.provideMerge(NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: clusterSharding }))
)

export const SchedulerMode = Config.literal("embedded", "external")("FINDRY_SCHEDULER")

/**
 * `FINDRY_SCHEDULER=embedded` runs the jobs in this process; `external` only enqueues for the runners of
 * `apps/scheduler`. Default: embedded on the embedded database (no `DATABASE_URL`), external otherwise.
 */
export const SchedulerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const databaseUrl = yield* Config.option(Config.redacted("DATABASE_URL"))
  const mode = yield* SchedulerMode.pipe(Config.withDefault(Option.isSome(databaseUrl) ? "external" : "embedded"))
  yield* Effect.logInfo(`Scheduler: ${mode}`)
  return mode === "external"
    ? ClientOnlyScheduler
    : embeddedScheduler(Option.isSome(databaseUrl) ? "sql" : "memory")
}))
