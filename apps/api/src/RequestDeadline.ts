import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { FindryApi, ServiceUnavailable } from "@findry/domain"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { ApiConfig } from "./ApiConfig.js"

/**
 * Every request of the contract gets `FINDRY_REQUEST_TIMEOUT_MS` to finish; past it the work is interrupted (an
 * open transaction rolls back, a running statement is cancelled) and the client gets a 503 `ServiceUnavailable`
 * with a request id, which the warning logs too.
 */
export const RequestDeadlineLive = HttpApiBuilder.middleware(
  FindryApi,
  Effect.map(ApiConfig, ({ requestTimeoutMillis }) => (app) =>
    app.pipe(
      Effect.timeoutTo({
        duration: requestTimeoutMillis,
        onSuccess: Effect.succeed,
        onTimeout: () =>
          Effect.gen(function*() {
            const request = yield* HttpServerRequest.HttpServerRequest
            const requestId = randomUUID()
            yield* Effect.logWarning("Request interrupted at its deadline").pipe(
              Effect.annotateLogs({
                requestId,
                "http.method": request.method,
                "http.path": request.url.split("?")[0],
                "deadline_ms": requestTimeoutMillis
              })
            )
            return yield* new ServiceUnavailable({ requestId })
          })
      }),
      Effect.flatten
    ))
)
