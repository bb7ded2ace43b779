import { HttpMiddleware, HttpServerError, HttpServerRequest } from "@effect/platform"
import { labelledMetric } from "@findry/domain"
import { Clock, Effect, Exit, FiberRef, LogLevel, Metric, MetricBoundaries, Option, Tracer } from "effect"

const levelFor = (status: number) => status >= 500 ? LogLevel.Error : status >= 400 ? LogLevel.Info : LogLevel.Debug

/** Seconds; the bucket boundaries OpenTelemetry recommends for HTTP durations. */
export const requestDuration = labelledMetric(
  Metric.histogram(
    "http.server.request.duration",
    MetricBoundaries.fromIterable([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60]),
    "HTTP requests answered, in seconds, by method, route template and status"
  ),
  { unit: "s" }
)

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])

/** The router's template (`/v1/workspaces/:workspaceId`), which it leaves on the request's span; never the raw path. */
const routeOf = (span: Option.Option<Tracer.AnySpan>) => {
  const route = Option.isSome(span) && span.value._tag === "Span" ? span.value.attributes.get("http.route") : undefined
  return typeof route === "string" ? route : "unmatched"
}

/**
 * One log line and one `http.server.request.duration` observation per request. Log lines: server errors at ERROR,
 * client errors at INFO, successes at DEBUG (shown with `LOG_LEVEL=debug`), so that a busy instance does not spend
 * its time writing access logs; a line below the minimum level is not even built. The metric's labels are bounded:
 * the route template, the method (`_OTHER` for any unknown one) and the status.
 */
export const accessLog = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(app)
    // A failure (an unknown route, a defect) is answered with the status of the response it maps to.
    const status = Exit.isSuccess(exit) ? exit.value.status : HttpServerError.exitResponse(exit).status
    const finished = yield* Clock.currentTimeMillis
    const request = yield* HttpServerRequest.HttpServerRequest
    yield* Metric.update(
      requestDuration({
        "http.request.method": METHODS.has(request.method) ? request.method : "_OTHER",
        "http.route": routeOf(yield* Effect.serviceOption(Tracer.ParentSpan)),
        "http.response.status_code": String(status)
      }),
      (finished - started) / 1000
    )
    const level = levelFor(status)
    if (LogLevel.lessThan(level, yield* FiberRef.get(FiberRef.currentMinimumLogLevel))) return yield* exit
    yield* Effect.logWithLevel(level, "Sent HTTP response").pipe(
      Effect.annotateLogs({
        "http.method": request.method,
        "http.path": request.url.split("?")[0],
        "http.status": status,
        "http.duration_ms": finished - started
      })
    )
    return yield* exit
  })
)
