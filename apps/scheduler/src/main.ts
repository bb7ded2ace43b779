import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { AmplitudeConfig } from "@findry/amplitude-adapter"
import { AnnotationsConfig } from "@findry/annotations"
import { keyringConfig } from "@findry/crypto"
import { ExperimentSyncSettings } from "@findry/experiment-sync"
import { LoggingLive, reportStartupFailure, telemetryConfig, TelemetryLive } from "@findry/observability"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { AmplitudeLive, JobsLive } from "@findry/runtime"
import { Config, Effect, Layer } from "effect"
import { RunnerConfig, RunnerLive } from "./Runner.js"

/** The scheduler shares the API's PostgreSQL (`DATABASE_URL` is required: the embedded database is single-process). */
const databaseConfig = Config.all({
  url: Config.redacted("DATABASE_URL"),
  maxConnections: Config.integer("DATABASE_POOL_SIZE").pipe(Config.withDefault(10))
})

const SqlLive = MigrationsLive.pipe(
  Layer.provideMerge(Layer.unwrapEffect(
    Effect.map(databaseConfig, ({ maxConnections, url }) => PgLive(url, { maxConnections }))
  ))
)

/**
 * Reads every variable in one pass before anything starts (the database is not reached first), so that
 * start-up names all configuration problems at once.
 */
const StartupConfigCheck = Layer.effectDiscard(
  Config.all([
    databaseConfig,
    keyringConfig,
    AmplitudeConfig.config,
    AnnotationsConfig.config,
    ExperimentSyncSettings.config,
    RunnerConfig,
    telemetryConfig
  ])
)

const SchedulerLive = JobsLive.pipe(
  Layer.provideMerge(RunnerLive),
  Layer.provide([AmplitudeLive, AnnotationsConfig.layerConfig]),
  Layer.provide(SqlLive),
  Layer.provide(TelemetryLive("findry-scheduler").pipe(Layer.provide(NodeHttpClient.layerUndici))),
  Layer.provide(StartupConfigCheck),
  Layer.provide(LoggingLive)
)

Layer.launch(SchedulerLive).pipe(
  Effect.tapErrorCause(reportStartupFailure("scheduler")),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
