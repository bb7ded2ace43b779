import { HttpMiddleware, HttpServerRequest } from "@effect/platform"
import { Clock, Effect, Exit, FiberRef, LogLevel } from "effect"

const levelFor = (status: number) => status >= 500 ? LogLevel.Error : status >= 400 ? LogLevel.Info : LogLevel.Debug

/**
 * One log line per request: server errors at ERROR, client errors at INFO, successes at DEBUG (shown with
 * `LOG_LEVEL=debug`), so that a busy instance does not spend its time writing access logs. A line below the
 * minimum level is not even built.
 */
export const accessLog = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(app)
    const status = Exit.isSuccess(exit) ? exit.value.status : 500
    const level = levelFor(status)
    if (LogLevel.lessThan(level, yield* FiberRef.get(FiberRef.currentMinimumLogLevel))) return yield* exit
    const request = yield* HttpServerRequest.HttpServerRequest
    const finished = yield* Clock.currentTimeMillis
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
