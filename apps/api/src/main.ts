import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { AmplitudeClient, AmplitudeConfig } from "@findry/amplitude-adapter"
import { AnnotationsConfig } from "@findry/annotations"
import { Fingerprinter, Keyring, SecretSealer } from "@findry/crypto"
import { DatabaseLive, MigrationsLive } from "@findry/persistence"
import { Cause, Config, ConfigError, Console, Effect, Layer, Logger, LogLevel, Option } from "effect"
import { createServer } from "node:http"
import { ApiConfig, ApiConfigLive, StartupConfigCheck } from "./ApiConfig.js"
import { HttpApiLive } from "./HttpServerLive.js"
import { SchedulerLive } from "./Scheduler.js"
import { configErrorLine } from "./StartupError.js"

const SqlLive = MigrationsLive.pipe(Layer.provideMerge(DatabaseLive))

const CryptoLive = Layer.mergeAll(SecretSealer.Default, Fingerprinter.Default).pipe(Layer.provide(Keyring.Default))

const AmplitudeLive = AmplitudeClient.Default.pipe(
  Layer.provide([AmplitudeConfig.layerConfig, NodeHttpClient.layerUndici, Keyring.Default])
)

const NodeServerLive = Layer.unwrapEffect(
  Effect.map(ApiConfig, ({ port }) => NodeHttpServer.layer(createServer, { port, host: "0.0.0.0" }))
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

const ServerLive = HttpApiLive.pipe(
  Layer.provide(NodeServerLive),
  Layer.provide(SchedulerLive),
  Layer.provide([SqlLive, CryptoLive, AmplitudeLive, AnnotationsConfig.layerConfig]),
  Layer.provide(ApiConfigLive),
  Layer.provide(StartupConfigCheck),
  Layer.provide(LoggerLive)
)

const reportStartupFailure = (cause: Cause.Cause<unknown>) => {
  const configError = Cause.failureOption(cause).pipe(Option.filter(ConfigError.isConfigError))
  return Option.isSome(configError)
    ? Console.error(configErrorLine(configError.value))
    : Effect.logError("The API stopped", cause)
}

Layer.launch(ServerLive).pipe(
  Effect.tapErrorCause(reportStartupFailure),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
