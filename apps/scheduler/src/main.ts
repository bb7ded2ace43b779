import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { AmplitudeClient, AmplitudeConfig } from "@findry/amplitude-adapter"
import { AnnotationsConfig } from "@findry/annotations"
import { Keyring } from "@findry/crypto"
import { LoggingLive, reportStartupFailure } from "@findry/observability"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { Config, Effect, Layer } from "effect"
import { JobsLive } from "./Jobs.js"
import { RunnerLive } from "./Runner.js"

/** The scheduler shares the API's PostgreSQL (`DATABASE_URL` is required: the embedded database is single-process). */
const SqlLive = MigrationsLive.pipe(
  Layer.provideMerge(Layer.unwrapEffect(Effect.gen(function*() {
    const url = yield* Config.redacted("DATABASE_URL")
    const maxConnections = yield* Config.integer("DATABASE_POOL_SIZE").pipe(Config.withDefault(10))
    return PgLive(url, { maxConnections })
  })))
)

const AmplitudeLive = AmplitudeClient.Default.pipe(
  Layer.provide([AmplitudeConfig.layerConfig, NodeHttpClient.layerUndici, Keyring.Default])
)

const SchedulerLive = JobsLive.pipe(
  Layer.provideMerge(RunnerLive),
  Layer.provide([AmplitudeLive, AnnotationsConfig.layerConfig]),
  Layer.provide(SqlLive),
  Layer.provide(LoggingLive)
)

Layer.launch(SchedulerLive).pipe(
  Effect.tapErrorCause(reportStartupFailure("scheduler")),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
