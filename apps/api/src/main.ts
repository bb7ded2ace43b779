import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { DatabaseLive, MigrationsLive } from "@findry/persistence"
import { Cause, Config, ConfigError, Console, Effect, Layer, Logger, Option } from "effect"
import { createServer } from "node:http"
import { ApiConfig, ApiConfigLive } from "./ApiConfig.js"
import { HttpApiLive } from "./HttpServerLive.js"
import { configErrorLine } from "./StartupError.js"

const SqlLive = MigrationsLive.pipe(Layer.provideMerge(DatabaseLive))

const NodeServerLive = Layer.unwrapEffect(
  Effect.map(ApiConfig, ({ port }) => NodeHttpServer.layer(createServer, { port, host: "0.0.0.0" }))
)

const LoggerLive = Layer.unwrapEffect(
  Config.literal("json", "pretty", "logfmt")("LOG_FORMAT").pipe(
    Config.withDefault("pretty"),
    Effect.map((format) => format === "json" ? Logger.json : format === "logfmt" ? Logger.logFmt : Logger.pretty)
  )
)

const ServerLive = HttpApiLive.pipe(
  Layer.provide(NodeServerLive),
  Layer.provide(SqlLive),
  Layer.provide(ApiConfigLive),
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
  NodeRuntime.runMain({ disableErrorReporting: true })
)
