import { ClusterWorkflowEngine } from "@effect/cluster"
import { NodeClusterSocket } from "@effect/platform-node"
import { clusterSharding, SchedulerHealth, singleRunner } from "@findry/annotations"
import { JobsLive } from "@findry/runtime"
import { Config, Context, Effect, Layer, Option, Schedule } from "effect"

/** Whether this process runs the scheduler's jobs, and whether anything does. */
export class SchedulerPresence extends Context.Tag("@findry/api/SchedulerPresence")<SchedulerPresence, {
  /** `embedded`: the jobs run in this process; `external`: separate runners (`apps/scheduler`) run them. */
  readonly mode: "embedded" | "external"
  /** No runner is alive to run what this process enqueues (read at most every few seconds; never when embedded). */
  readonly noRunner: Effect.Effect<boolean>
}>() {}

const EmbeddedPresence = Layer.succeed(SchedulerPresence, { mode: "embedded", noRunner: Effect.succeed(false) })

/** Shown on an annotation that waits while no runner is alive. */
export const WAITING_FOR_A_SCHEDULER = "Waiting for a scheduler: no scheduler process is running to push it"

/**
 * External mode: warns at start when no runner is alive, and every `interval` while due jobs wait
 * with none alive (the API keeps recording decisions, nobody pushes them).
 */
export const externalPresence = (interval: Parameters<typeof Schedule.spaced>[0] = "1 minute") =>
  Layer.scoped(
    SchedulerPresence,
    Effect.gen(function*() {
      const health = yield* SchedulerHealth
      const noRunner = yield* Effect.cachedWithTTL(Effect.map(health.runnersAlive, (alive) => alive === 0), "3 seconds")
      const warn = (atStart: boolean) =>
        Effect.gen(function*() {
          if ((yield* health.runnersAlive) > 0) return
          const { due, oldestDueSeconds } = yield* health.backlog
          if (!atStart && due === 0) return
          yield* Effect.logWarning(
            "No scheduler runner is alive (FINDRY_SCHEDULER=external): decisions are recorded, and their Amplitude " +
              "annotations wait until a runner of apps/scheduler starts"
          ).pipe(Effect.annotateLogs({ dueMessages: due, oldestDueSeconds }))
        }).pipe(Effect.catchAllCause((cause) => Effect.logDebug("Could not check the scheduler runners", cause)))
      yield* warn(true)
      yield* warn(false).pipe(Effect.repeat(Schedule.spaced(interval)), Effect.delay(interval), Effect.forkScoped)
      return { mode: "external" as const, noRunner }
    })
  ).pipe(Layer.provide(SchedulerHealth.Default))

/**
 * Runs the scheduler inside the API process: `SingleRunner` with SQL message storage on the API's own
 * pool. On the embedded one-connection PGlite, shard locks stay in memory (`runnerStorage: "memory"`): the
 * SQL runner storage would hold the only connection for its advisory locks.
 */
export const embeddedScheduler = (runnerStorage: "sql" | "memory") =>
  Layer.merge(JobsLive.pipe(Layer.provideMerge(singleRunner({ runnerStorage }))), EmbeddedPresence)

/** Enqueues into the scheduler's cluster without running any job (the runners are separate processes). */
export const ClientOnlyScheduler = Layer.merge(
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: clusterSharding }))
  ),
  externalPresence()
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
