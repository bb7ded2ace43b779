import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import type { ReceivedPoint, ReceivedSpan } from "@findry/observability/testing"
import { Duration, Effect } from "effect"
import { randomUUID } from "node:crypto"
import { connectedWorkspace } from "./support/Decision.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { telemetryToReceiver } from "./support/Telemetry.js"
import { ApiTestLive } from "./support/TestApi.js"

const telemetry = telemetryToReceiver()

const BETS_ROUTE = "/v1/workspaces/:workspaceId/projects/:projectId/bets"

/** The spans from `span` up to the root, following `parentSpanId` through everything exported. */
const ancestry = (spans: ReadonlyArray<ReceivedSpan>, span: ReceivedSpan): Array<ReceivedSpan> => {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const chain = [span]
  for (
    let parent = byId.get(span.parentSpanId ?? "");
    parent !== undefined;
    parent = byId.get(parent.parentSpanId ?? "")
  ) {
    chain.push(parent)
  }
  return chain
}

const pointOf = (points: ReadonlyArray<ReceivedPoint>, metric: string, attributes: Record<string, string> = {}) =>
  points.find((point) =>
    point.metric === metric && Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)
  )

describe("telemetry", () => {
  layer(
    ApiTestLive({
      observability: telemetry.layer,
      annotations: { baseBackoff: Duration.millis(100), maxBackoff: Duration.millis(600) }
    }),
    {
      timeout: "120 seconds",
      excludeTestServices: true
    }
  )((it) => {
    it.effect(
      "one trace follows a decision from its HTTP request through the workflow to its Amplitude calls",
      () =>
        Effect.gen(function*() {
          const receiver = telemetry.receiver()
          const emulator = yield* AmplitudeEmulator
          const { amplitude, decide, metricId, projectId, workspaceId } = yield* connectedWorkspace(
            `telemetry-${process.pid}`
          )
          // The first annotation call is refused once: the push retries, and the 429 is counted.
          yield* emulator.injectFault({
            project: amplitude.id,
            endpoint: "annotations.*",
            kind: "status",
            status: 429,
            times: 1
          })

          const bet = yield* decide("Traced checkout")
          assert.strictEqual(bet.status, 201, bet.text)
          const betId: string = bet.body.id

          // The create of the bet's annotation, with everything above it, once all of it has been exported.
          const chain = yield* eventually(
            Effect.suspend(() => {
              const spans = receiver.spans()
              const creates = spans.filter((span) =>
                span.name === "Amplitude.request" && span.attributes["amplitude.endpoint"] === "/api/3/annotations" &&
                span.attributes["http.request.method"] === "POST" &&
                span.attributes["http.response.status_code"] === 200
              )
              const chains = creates.map((create) => ancestry(spans, create))
              // The root is the test's own client span (the test runs with the same tracer), above the server's.
              const full = chains.find((chain) => chain.some((span) => span.name === "http.server POST"))
              return full === undefined
                ? Effect.fail(
                  `no exported chain from the annotation create to the request: ${
                    JSON.stringify(chains.map((chain) => chain.map((span) => span.name)))
                  }`
                )
                : Effect.succeed(full)
            }),
            "20 seconds"
          )
          const names = chain.map((span) => span.name)
          // Through the workflow's queue (a cluster message carries the span) and the entity's, in order.
          const expected = [
            "Amplitude.request",
            "ConnectedProject.createAnnotation",
            "AmplitudeProject.push",
            "PushAnnotation",
            "AnnotationScheduler.betEvent",
            "Bets.create",
            "http.server POST"
          ]
          assert.deepStrictEqual(names.filter((name) => expected.includes(name)), expected, names.join(" < "))
          assert.isTrue(chain.every((span) => span.traceId === chain[0]!.traceId), "one trace")
          const request = chain.find((span) => span.name === "http.server POST")!
          assert.strictEqual(request.attributes["http.route"], BETS_ROUTE)
          assert.strictEqual(request.attributes["http.response.status_code"], 201)
          assert.strictEqual(request.service, "findry-api")
          assert.strictEqual(
            chain.find((span) => span.name === "AnnotationScheduler.betEvent")!.attributes.betId,
            betId
          )

          const points = yield* eventually(
            Effect.suspend(() => {
              const points = receiver.points()
              return pointOf(points, "annotation.pushes", { outcome: "pushed" }) === undefined ||
                  pointOf(points, "amplitude.client.rate_limited") === undefined
                ? Effect.fail("metrics not exported yet")
                : Effect.succeed(points)
            }),
            "20 seconds"
          )
          const requests = pointOf(points, "http.server.request.duration", {
            "http.request.method": "POST",
            "http.route": BETS_ROUTE,
            "http.response.status_code": "201"
          })
          assert.strictEqual(requests?.type, "histogram")
          assert.isAtLeast(requests!.value, 1)
          assert.isAbove(requests!.sum!, 0)
          const annotationCalls = pointOf(points, "amplitude.client.request.duration", {
            "amplitude.endpoint": "/api/3/annotations",
            "http.request.method": "POST",
            "http.response.status_code": "200",
            "amplitude.host": "analytics",
            "amplitude.region": "us"
          })
          assert.isAtLeast(annotationCalls?.value ?? 0, 1)
          assert.isAtLeast(
            pointOf(points, "amplitude.client.rate_limited", { "amplitude.policy": "annotation-push" })?.value ?? 0,
            1
          )
          assert.isDefined(pointOf(points, "amplitude.governor.wait.duration", { gate: "concurrency" }))
          assert.isAtLeast(pointOf(points, "annotation.pushes", { outcome: "pushed" })!.value, 1)
          const latency = pointOf(points, "annotation.decision_to_annotation.duration")
          assert.isAtLeast(latency?.value ?? 0, 1)
          assert.isAbove(latency!.sum!, 0)
          assert.isDefined(pointOf(points, "scheduler.backlog.due"))
          assert.isDefined(pointOf(points, "scheduler.backlog.oldest_due_age"))

          // Bounded labels: templates and enums, never an id or a raw path.
          const labelValues = points.flatMap((point) => Object.values(point.attributes))
          for (const id of [workspaceId, betId, projectId, metricId]) {
            assert.isFalse(labelValues.some((value) => value.includes(id)), `a metric label carries the id ${id}`)
          }
          assert.isFalse(labelValues.some((value) => value.startsWith("/v1/workspaces/") && !value.includes(":")))
        }),
      90_000
    )

    it.effect("an unknown path is counted under one route label, not its own", () =>
      Effect.gen(function*() {
        const receiver = telemetry.receiver()
        const path = `/v1/nowhere/${randomUUID()}`
        assert.strictEqual((yield* call("GET", path, { user: null })).status, 404)
        const point = yield* eventually(
          Effect.suspend(() => {
            const found = pointOf(receiver.points(), "http.server.request.duration", {
              "http.route": "unmatched",
              "http.response.status_code": "404"
            })
            return found === undefined ? Effect.fail("not exported yet") : Effect.succeed(found)
          })
        )
        assert.isAtLeast(point.value, 1)
        assert.isFalse(receiver.points().some((p) => Object.values(p.attributes).some((v) => v.includes("/nowhere/"))))
      }))
  })
})
