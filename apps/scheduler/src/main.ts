import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { AmplitudeClient, AmplitudeConfig } from "@findry/amplitude-adapter"
import { AnnotationsConfig } from "@findry/annotations"
import { Keyring } from "@findry/crypto"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { Cause, Config, ConfigError, Console, Effect, Layer, Logger, LogLevel, Option } from "effect"
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

const LoggerLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const format = yield* Config.literal("json", "pretty", "logfmt")("LOG_FORMAT").pipe(Config.withDefault("pretty"))
    const level = yield* Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
    return Layer.merge(
      format === "json" ? Logger.json : format === "logfmt" ? Logger.logFmt : Logger.pretty,
      Logger.minimumLogLevel(level)
    )
  })
)

const SchedulerLive = JobsLive.pipe(
  Layer.provideMerge(RunnerLive),
  Layer.provide([AmplitudeLive, AnnotationsConfig.layerConfig]),
  Layer.provide(SqlLive),
  Layer.provide(LoggerLive)
)

const reportStartupFailure = (cause: Cause.Cause<unknown>) => {
  const configError = Cause.failureOption(cause).pipe(Option.filter(ConfigError.isConfigError))
  return Option.isSome(configError)
    ? Console.error(`Configuration error: ${configError.value}. See the configuration table in README.md.`)
    : Effect.logError("The scheduler stopped", cause)
}

Layer.launch(SchedulerLive).pipe(
  Effect.tapErrorCause(reportStartupFailure),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
