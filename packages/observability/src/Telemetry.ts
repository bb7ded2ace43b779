import { OtlpMetrics, OtlpSerialization, OtlpTracer } from "@effect/opentelemetry"
import type { HttpClient } from "@effect/platform"
import { Config, ConfigError, Duration, Effect, Either, Layer, Option, Redacted, Tracer } from "effect"

/** Where each signal goes; `None`: that signal is not exported. */
export interface TelemetrySettings {
  readonly tracesUrl: Option.Option<string>
  readonly metricsUrl: Option.Option<string>
  readonly protocol: "http/json" | "http/protobuf"
  /** `OTEL_EXPORTER_OTLP_HEADERS`, e.g. a collector's API key. */
  readonly headers: Redacted.Redacted<Record<string, string>>
  /** `OTEL_SERVICE_NAME`, else `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else the program's default. */
  readonly serviceName: Option.Option<string>
  readonly resourceAttributes: Record<string, string>
  readonly metricInterval: Duration.Duration
  readonly traceInterval: Duration.Duration
  /** `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`. */
  readonly sampler: Sampler
  readonly samplerRatio: number
}

export type Sampler =
  | "always_on"
  | "always_off"
  | "traceidratio"
  | "parentbased_always_on"
  | "parentbased_always_off"
  | "parentbased_traceidratio"

/** `k1=v1,k2=v2` with percent-encoded values (the W3C Baggage form the OpenTelemetry variables use). */
const keyValueList = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const entries: Record<string, string> = {}
      for (const item of text.split(",")) {
        if (item.trim() === "") continue
        const at = item.indexOf("=")
        const key = at > 0 ? item.slice(0, at).trim() : ""
        let value: string | undefined
        try {
          value = at > 0 ? decodeURIComponent(item.slice(at + 1).trim()) : undefined
        } catch {
          value = undefined
        }
        if (key === "" || value === undefined) {
          return Either.left(
            ConfigError.InvalidData([], "Expected comma-separated key=value pairs with percent-encoded values")
          )
        }
        entries[key] = value
      }
      return Either.right(entries)
    }),
    Config.withDefault({} as Record<string, string>)
  )

const httpUrl = (name: string) =>
  Config.option(
    Config.string(name).pipe(
      Config.validate({
        message: "Expected an http:// or https:// URL",
        validation: (url) => /^https?:\/\/[^\s]+$/.test(url) && URL.canParse(url)
      })
    )
  )

const exporterOn = (name: string) =>
  Config.literal("otlp", "none")(name).pipe(Config.withDefault("otlp"), Config.map((value) => value === "otlp"))

const millis = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "Expected a whole number of milliseconds ≥ 1", validation: (ms) => ms >= 1 }),
    Config.withDefault(fallback),
    Config.map(Duration.millis)
  )

/** The base endpoint gets the signal's path; a per-signal endpoint is used as it is (the OTLP/HTTP rules). */
const signalUrl = (base: Option.Option<string>, own: Option.Option<string>, path: string) =>
  Option.orElse(own, () => Option.map(base, (url) => `${url.replace(/\/+$/, "")}${path}`))

/**
 * The standard OpenTelemetry variables this service honours. Nothing is exported unless an endpoint is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` for both signals, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
 * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` for one); there is no default collector address.
 */
export const telemetryConfig: Config.Config<TelemetrySettings> = Config.all({
  disabled: Config.boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  base: httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT"),
  traces: httpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  metrics: httpUrl("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
  tracesOn: exporterOn("OTEL_TRACES_EXPORTER"),
  metricsOn: exporterOn("OTEL_METRICS_EXPORTER"),
  protocol: Config.literal("http/json", "http/protobuf")("OTEL_EXPORTER_OTLP_PROTOCOL").pipe(
    Config.withDefault("http/json" as const)
  ),
  headers: Config.redacted(keyValueList("OTEL_EXPORTER_OTLP_HEADERS")),
  serviceName: Config.option(Config.nonEmptyString("OTEL_SERVICE_NAME")),
  resourceAttributes: keyValueList("OTEL_RESOURCE_ATTRIBUTES"),
  metricInterval: millis("OTEL_METRIC_EXPORT_INTERVAL", 60_000),
  traceInterval: millis("OTEL_BSP_SCHEDULE_DELAY", 5_000),
  sampler: Config.literal(
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio"
  )("OTEL_TRACES_SAMPLER").pipe(Config.withDefault("parentbased_always_on" as const)),
  samplerRatio: Config.number("OTEL_TRACES_SAMPLER_ARG").pipe(
    Config.validate({ message: "Expected a ratio from 0 to 1", validation: (ratio) => ratio >= 0 && ratio <= 1 }),
    Config.withDefault(1)
  )
}).pipe(
  Config.map(({ base, disabled, metrics, metricsOn, traces, tracesOn, ...rest }): TelemetrySettings => ({
    ...rest,
    tracesUrl: disabled || !tracesOn ? Option.none() : signalUrl(base, traces, "/v1/traces"),
    metricsUrl: disabled || !metricsOn ? Option.none() : signalUrl(base, metrics, "/v1/metrics")
  }))
)

/**
 * Exports traces (every `Effect.fn` / `withSpan` span, the HTTP server's and the cluster's) and every Effect `Metric`
 * over OTLP/HTTP, as the `OTEL_*` variables say; with no endpoint set it adds nothing and sends nothing. The
 * exporter's own requests are not traced. Pending spans and a last metrics snapshot are sent when the program stops.
 */
export const TelemetryLive = (
  defaultServiceName: string
): Layer.Layer<never, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const settings = yield* telemetryConfig
    const serviceName = Option.getOrElse(
      settings.serviceName,
      () => settings.resourceAttributes["service.name"] ?? defaultServiceName
    )
    const { "service.name": _, ...attributes } = settings.resourceAttributes
    const common = {
      resource: { serviceName, attributes },
      headers: Redacted.value(settings.headers),
      shutdownTimeout: Duration.seconds(3)
    }
    const tracer = Option.match(settings.tracesUrl, {
      onNone: () => Layer.empty,
      onSome: (url) =>
        Layer.unwrapScoped(Effect.gen(function*() {
          const exporting = yield* OtlpTracer.make({ ...common, url, exportInterval: settings.traceInterval })
          return Layer.setTracer(sampling(settings, exporting, yield* Effect.tracer))
        }))
    })
    const metrics = Option.match(settings.metricsUrl, {
      onNone: () => Layer.empty,
      onSome: (url) => OtlpMetrics.layer({ ...common, url, exportInterval: settings.metricInterval })
    })
    return Layer.merge(tracer, metrics).pipe(
      Layer.provide(
        settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf
      )
    )
  }))

/**
 * The sampler of `OTEL_TRACES_SAMPLER`: a sampled span goes to `exporting`, any other to `local` (kept in the
 * process, marked unsampled so that its children, and the cluster messages and requests it sends, stay unsampled).
 * `parentbased_*` and the ratio samplers decide at a trace's root; `traceidratio` also follows a parent.
 */
const sampling = (settings: TelemetrySettings, exporting: Tracer.Tracer, local: Tracer.Tracer): Tracer.Tracer => {
  const root = settings.sampler.endsWith("always_on")
    ? () => true
    : settings.sampler.endsWith("always_off")
    ? () => false
    : () => Math.random() < settings.samplerRatio
  const decide = (parent: Option.Option<Tracer.AnySpan>) =>
    settings.sampler === "always_on"
      ? true
      : settings.sampler === "always_off"
      ? false
      : Option.isSome(parent)
      ? parent.value.sampled
      : root()
  return Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      if (decide(parent)) return exporting.span(name, parent, context, links, startTime, kind)
      const span = local.span(name, parent, context, links, startTime, kind)
      Object.defineProperty(span, "sampled", { value: false })
      return span
    },
    context: exporting.context
  })
}
