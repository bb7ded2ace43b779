import { Config, Effect, Layer, Logger, LogLevel } from "effect"

/**
 * How every process logs: `LOG_FORMAT` (`pretty` by default, `json` or `logfmt`) and `LOG_LEVEL` (`info` by
 * default). Run the program with `runMain({ disablePrettyLogger: true })` so that this logger is the only one.
 */
export const LoggingLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const format = yield* Config.literal("json", "pretty", "logfmt")("LOG_FORMAT").pipe(Config.withDefault("pretty"))
    const level = yield* Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
    return Layer.merge(
      format === "json" ? Logger.json : format === "logfmt" ? Logger.logFmt : Logger.pretty,
      Logger.minimumLogLevel(level)
    )
  })
)
