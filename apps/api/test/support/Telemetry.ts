import { NodeHttpClient } from "@effect/platform-node"
import { TelemetryLive } from "@findry/observability"
import { OtlpReceiver } from "@findry/observability/testing"
import { ConfigProvider, Effect, Layer, Logger, type LogLevel } from "effect"

/**
 * The service's own `TelemetryLive`, aimed at an OTLP/HTTP receiver started with it (and stopped after it, so the
 * export on shutdown still lands), exporting every 100 ms, with logs dropped (below `minimumLogLevel`, they are not
 * span events either). `receiver()` is the receiver once the layer is built.
 */
export const telemetryToReceiver = (options: { readonly minimumLogLevel?: LogLevel.LogLevel } = {}) => {
  let current: OtlpReceiver | undefined
  const layer = Layer.unwrapScoped(Effect.gen(function*() {
    const receiver = yield* OtlpReceiver.make
    current = receiver
    return TelemetryLive("findry-api").pipe(
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
        new Map([
          ["OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url],
          ["OTEL_BSP_SCHEDULE_DELAY", "100"],
          ["OTEL_METRIC_EXPORT_INTERVAL", "100"]
        ])
      )))
    )
  })).pipe(
    Layer.orDie,
    Layer.merge(Logger.remove(Logger.defaultLogger)),
    Layer.merge(options.minimumLogLevel === undefined ? Layer.empty : Logger.minimumLogLevel(options.minimumLogLevel))
  )
  return {
    layer,
    receiver: (): OtlpReceiver => {
      if (current === undefined) throw new Error("The telemetry layer is not built")
      return current
    }
  }
}
