import { FetchHttpClient, HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Metric, Tracer } from "effect"
import { configErrorLine } from "../src/StartupFailure.js"
import { TelemetryLive } from "../src/Telemetry.js"
import { OtlpReceiver } from "../src/Testing.js"

const requests = Metric.counter("test.requests", { description: "requests in the test" })

/** A little traced work: a parent span with a child, and a counter with one label. */
const work = Effect.gen(function*() {
  yield* Metric.increment(Metric.tagged(requests, "route", "/things/:id"))
  yield* Effect.annotateCurrentSpan("thing.kind", "small")
}).pipe(Effect.withSpan("Things.inner"), Effect.withSpan("Things.outer"))

/** Runs `work` with `TelemetryLive` under `env`, then stops it (which flushes); yields the URLs the exporter called. */
const runWith = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const called: Array<string> = []
    const recording = Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, HttpClient.tapRequest((request) => Effect.sync(() => called.push(request.url))))
    ).pipe(Layer.provide(FetchHttpClient.layer))
    yield* Effect.scoped(
      Effect.provide(
        work,
        TelemetryLive("test-service").pipe(
          Layer.provide(recording),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
        )
      )
    )
    return called
  })

describe("TelemetryLive", () => {
  it.scoped("exports spans with their parent and metrics with their labels to OTEL_EXPORTER_OTLP_ENDPOINT", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make
      const called = yield* runWith({
        OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
        OTEL_SERVICE_NAME: "findry-test",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test,team=a%2Cb,service.name=ignored"
      })
      assert.sameMembers(called, [`${receiver.url}/v1/traces`, `${receiver.url}/v1/metrics`])
      assert.isTrue(receiver.requests.every((request) => request.contentType === "application/json"))

      const spans = receiver.spans()
      const outer = spans.find((span) => span.name === "Things.outer")
      const inner = spans.find((span) => span.name === "Things.inner")
      assert.isDefined(outer)
      assert.isDefined(inner)
      assert.strictEqual(inner!.parentSpanId, outer!.spanId)
      assert.strictEqual(inner!.traceId, outer!.traceId)
      assert.strictEqual(inner!.attributes["thing.kind"], "small")
      assert.strictEqual(inner!.service, "findry-test")

      const point = receiver.points().find((p) => p.metric === "test.requests")
      assert.deepStrictEqual(point?.attributes, { route: "/things/:id" })
      assert.isAtLeast(point!.value, 1)
      assert.strictEqual(point!.service, "findry-test")
      const resource = JSON.parse(receiver.requests[0]!.body).resourceSpans?.[0]?.resource ??
        JSON.parse(receiver.requests[0]!.body).resourceMetrics[0].resource
      const attributes = Object.fromEntries(
        resource.attributes.map((kv: any) => [kv.key, kv.value.stringValue])
      )
      assert.strictEqual(attributes["deployment.environment"], "test")
      assert.strictEqual(attributes["team"], "a,b")
      assert.strictEqual(attributes["service.name"], "findry-test")
    }))

  it.scoped("sends each signal only to its own endpoint when only that one is set", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make
      const called = yield* runWith({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/collector/spans` })
      assert.deepStrictEqual(called, [`${receiver.url}/collector/spans`])
      const spans = receiver.spans("/collector/spans")
      assert.includeMembers(spans.map((span) => span.name), ["Things.outer", "Things.inner"])
      assert.strictEqual(spans[0]!.service, "test-service")

      const metricsOnly = yield* runWith({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_TRACES_EXPORTER: "none"
      })
      assert.deepStrictEqual(metricsOnly, [`${receiver.url}/v1/metrics`])
    }))

  it.scoped("sends nothing anywhere without an endpoint, or with OTEL_SDK_DISABLED", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make
      assert.deepStrictEqual(
        yield* runWith({ OTEL_SERVICE_NAME: "findry-test", OTEL_RESOURCE_ATTRIBUTES: "a=b" }),
        []
      )
      assert.deepStrictEqual(
        yield* runWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: "true" }),
        []
      )
      assert.strictEqual(receiver.requests.length, 0)
    }))

  it.scoped("samples whole traces with OTEL_TRACES_SAMPLER; metrics are unaffected", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: "0" }
      yield* runWith({ ...env, OTEL_TRACES_SAMPLER: "parentbased_traceidratio" })
      assert.deepStrictEqual(receiver.spans(), [])
      assert.isDefined(receiver.points().find((p) => p.metric === "test.requests"))

      // A remote parent that was sampled keeps its children sampled, whatever the ratio.
      yield* runWith({ ...env, OTEL_TRACES_SAMPLER: "parentbased_traceidratio" }).pipe(
        Effect.withParentSpan(Tracer.externalSpan({ traceId: "a".repeat(32), spanId: "b".repeat(16), sampled: true }))
      )
      const spans = receiver.spans()
      assert.sameMembers(spans.map((span) => span.name), ["Things.outer", "Things.inner"])
      assert.isTrue(spans.every((span) => span.traceId === "a".repeat(32)))
    }))

  it.effect("names malformed variables, without their values", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(TelemetryLive("test-service")).pipe(
          Effect.scoped,
          Effect.provide(FetchHttpClient.layer),
          Effect.withConfigProvider(ConfigProvider.fromMap(
            new Map([
              ["OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"],
              ["OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"],
              ["OTEL_EXPORTER_OTLP_HEADERS", "x-api-key"],
              ["OTEL_METRIC_EXPORT_INTERVAL", "0"],
              ["OTEL_TRACES_SAMPLER_ARG", "1.5"]
            ])
          ))
        )
      )
      const line = configErrorLine(error)
      for (
        const name of [
          "OTEL_EXPORTER_OTLP_ENDPOINT",
          "OTEL_EXPORTER_OTLP_PROTOCOL",
          "OTEL_EXPORTER_OTLP_HEADERS",
          "OTEL_METRIC_EXPORT_INTERVAL",
          "OTEL_TRACES_SAMPLER_ARG"
        ]
      ) assert.include(line, `${name} is invalid`)
      assert.notInclude(line, "collector:4318")
      assert.notInclude(line, "x-api-key")
    }))
})
