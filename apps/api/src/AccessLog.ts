import { HttpMiddleware, HttpServerRequest } from "@effect/platform"
import { Clock, Effect, Exit, LogLevel } from "effect"

const levelFor = (status: number) => status >= 500 ? LogLevel.Error : status >= 400 ? LogLevel.Info : LogLevel.Debug

/**
 * One log line per request: server errors at ERROR, client errors at INFO, successes at DEBUG (shown with
 * `LOG_LEVEL=debug`), so that a busy instance does not spend its time writing access logs.
 */
export const accessLog = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const started = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(app)
    const status = Exit.isSuccess(exit) ? exit.value.status : 500
    const finished = yield* Clock.currentTimeMillis
    yield* Effect.logWithLevel(levelFor(status), "Sent HTTP response").pipe(
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
