import {
  ClusterWorkflowEngine,
  type MessageStorage,
  RunnerAddress,
  type Runners,
  type Sharding,
  type ShardingConfig
} from "@effect/cluster"
import type { HttpServerError, SocketServer } from "@effect/platform"
import { NodeClusterHttp, NodeClusterSocket } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { clusterSharding, SchedulerHealth, singleRunner } from "@findry/annotations"
import { type ConfigError, Context, Effect, Layer, Option, Schedule } from "effect"
import { JobsLive } from "./Jobs.js"
import {
  roleConfig,
  type RoleSettings,
  type RunnerAddressSettings,
  type RunnerTransport,
  runnerTransportConfig
} from "./Role.js"

/** Whether this process runs the scheduler's jobs, and whether anything does. */
export class SchedulerPresence extends Context.Tag("@findry/runtime/SchedulerPresence")<SchedulerPresence, {
  /** The jobs run in this process (roles `all` and `worker`); otherwise other processes run them. */
  readonly runsJobs: boolean
  /** No runner is alive to run what this process enqueues (read at most every few seconds; never when it runs jobs). */
  readonly noRunner: Effect.Effect<boolean>
}>() {}

const RunnerPresence = Layer.succeed(SchedulerPresence, { runsJobs: true, noRunner: Effect.succeed(false) })

/** Shown on an annotation that waits while no runner is alive. */
export const WAITING_FOR_A_SCHEDULER = "Waiting for a scheduler: no scheduler process is running to push it"

/**
 * For a process that only enqueues (role `api`): warns at start when no runner is alive, and every `interval`
 * while due jobs wait with none alive (the API keeps recording decisions, nobody pushes them).
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
            "No scheduler runner is alive (FINDRY_ROLE=api): decisions are recorded, and their Amplitude " +
              "annotations wait until a process with FINDRY_ROLE=worker or all starts on this database"
          ).pipe(Effect.annotateLogs({ dueMessages: due, oldestDueSeconds }))
        }).pipe(Effect.catchAllCause((cause) => Effect.logDebug("Could not check the scheduler runners", cause)))
      yield* warn(true)
      yield* warn(false).pipe(Effect.repeat(Schedule.spaced(interval)), Effect.delay(interval), Effect.forkScoped)
      return { runsJobs: false, noRunner }
    })
  ).pipe(Layer.provide(SchedulerHealth.Default))

/**
 * The only runner, inside this process: `SingleRunner` with SQL message storage. On the embedded one-connection
 * PGlite, shard locks stay in memory (`runnerStorage: "memory"`): the SQL runner storage would hold the only
 * connection for its advisory locks.
 */
export const embeddedScheduler = (runnerStorage: "sql" | "memory") =>
  Layer.merge(JobsLive.pipe(Layer.provideMerge(singleRunner({ runnerStorage }))), RunnerPresence)

type ShardingOptions = Partial<ShardingConfig.ShardingConfig["Type"]>

/** A node of the cluster on PostgreSQL storage, whichever the transport. */
type ClusterNode = Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  ConfigError.ConfigError | HttpServerError.ServeError | SocketServer.SocketServerError,
  SqlClient.SqlClient
>

/** The advisory lock under which the nodes of a fleet start their cluster one at a time. */
const CLUSTER_START_LOCK = 7_316_204_552

/**
 * Builds `node` while holding a session advisory lock on a connection of its own, so that processes starting
 * together take turns: the cluster's storage creates its tables on a first start with statements that fail when
 * two processes run them at once. The wait has no timeout (a starting node may take long on a busy machine); a
 * process that dies while it holds the lock ends its session, which frees the lock.
 */
const startInTurn = (node: ClusterNode): ClusterNode =>
  Layer.scopedContext(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const nodeScope = yield* Effect.scope
    return yield* Effect.scoped(Effect.gen(function*() {
      const connection = yield* Effect.orDie(sql.reserve)
      yield* Effect.acquireRelease(
        Effect.gen(function*() {
          yield* connection.executeRaw("SET lock_timeout = 0", [])
          yield* connection.executeRaw("SET statement_timeout = 0", [])
          yield* connection.executeRaw("SELECT pg_advisory_lock($1)", [CLUSTER_START_LOCK])
        }),
        () =>
          Effect.gen(function*() {
            yield* connection.executeRaw("SELECT pg_advisory_unlock($1)", [CLUSTER_START_LOCK])
            yield* connection.executeRaw("RESET lock_timeout", [])
            yield* connection.executeRaw("RESET statement_timeout", [])
          }).pipe(Effect.ignore)
      ).pipe(Effect.orDie)
      return yield* Layer.buildWithScope(node, nodeScope)
    }))
  }))

/**
 * A node of the cluster over PostgreSQL storage with `transport` between the nodes, a runner or a client-only node;
 * the one place that chooses the transport.
 */
const clusterOver = (
  transport: RunnerTransport,
  options: { readonly clientOnly: boolean; readonly shardingConfig: ShardingOptions }
): ClusterNode =>
  startInTurn(
    transport === "http"
      ? NodeClusterHttp.layer({ transport: "http", storage: "sql", ...options })
      : NodeClusterSocket.layer({ storage: "sql", ...options })
  )

/**
 * One runner of a cluster on PostgreSQL: it takes the shards whose advisory locks it gets, and talks to the
 * other runners over `address.transport` on its own address.
 */
export const clusterRunner = (address: RunnerAddressSettings) =>
  Layer.merge(
    JobsLive.pipe(Layer.provideMerge(
      ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(clusterOver(address.transport, {
        clientOnly: false,
        shardingConfig: {
          ...clusterSharding,
          runnerAddress: Option.some(RunnerAddress.make(address.host, address.port)),
          runnerListenAddress: Option.some(RunnerAddress.make(address.listenHost, address.port))
        }
      })))
    )),
    RunnerPresence
  )

/**
 * A client-only node of the cluster over `FINDRY_RUNNER_TRANSPORT`: enqueues and reads replies, runs nothing.
 * Needs PostgreSQL's `SqlClient`.
 */
export const ClusterClientLive = Layer.unwrapEffect(Effect.map(
  runnerTransportConfig,
  (transport) =>
    ClusterWorkflowEngine.layer.pipe(
      Layer.provideMerge(clusterOver(transport, { clientOnly: true, shardingConfig: clusterSharding }))
    )
))

/** Enqueues into the cluster without running any job, and says when no runner is alive. */
export const ClientOnlyScheduler = Layer.merge(ClusterClientLive, externalPresence())

/**
 * The scheduler of a process in `settings.role`: a cluster runner on PostgreSQL (`all`, `worker`), the single
 * in-process runner on the embedded database (`all` without `DATABASE_URL`), or a client-only node (`api`).
 * Provides the `WorkflowEngine` and `SchedulerPresence`; needs the `SqlClient`, `AmplitudeClient` and
 * `AnnotationsConfig`.
 */
export const schedulerFor = (settings: RoleSettings) => {
  if (settings.role === "api") return ClientOnlyScheduler
  if (Option.isNone(settings.databaseUrl)) return embeddedScheduler("memory")
  return clusterRunner(settings.runner)
}

/** The scheduler of this process's `FINDRY_ROLE` (see `schedulerFor`). */
export const SchedulerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const settings = yield* roleConfig
  const runsRunner = settings.role !== "api" && Option.isSome(settings.databaseUrl)
  yield* Effect.logInfo(`Role: ${settings.role}`).pipe(Effect.annotateLogs({
    scheduler: settings.role === "api" ? "client only" : runsRunner ? "runner" : "single runner (embedded database)",
    ...(runsRunner
      ? { runnerAddress: `${settings.runner.host}:${settings.runner.port}`, runnerTransport: settings.runner.transport }
      : {})
  }))
  return schedulerFor(settings)
}))
