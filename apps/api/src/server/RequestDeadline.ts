import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { FindryApi, ServiceUnavailable } from "@findry/domain"
import { Effect, FiberId, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { ApiConfig } from "../ApiConfig.js"

const encodeServiceUnavailable = Schema.encodeSync(ServiceUnavailable)

/** Who interrupts a request at its deadline (seen in the interruption's cause). */
const deadlineFiberId = FiberId.make(-1, 0)

/**
 * Every request of the contract gets `FINDRY_REQUEST_TIMEOUT_MS` to finish. Past it the client is answered 503
 * `ServiceUnavailable` with a request id and the request's work is interrupted (an open transaction rolls back, a
 * running statement is cancelled); the warning carries the same id. One timer per request and no extra fiber:
 * a race per request would cost a fifth of the throughput of the hottest read.
 */
export const RequestDeadlineLive = HttpApiBuilder.middleware(
  FindryApi,
  Effect.map(
    ApiConfig,
    ({ requestTimeoutMillis }) => (app) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.withFiberRuntime((fiber) => {
          let requestId: string | undefined
          const timer = setTimeout(() => {
            const response = NodeHttpServerRequest.toServerResponse(request)
            if (response.headersSent) return
            requestId = randomUUID()
            response.writeHead(503, { "content-type": "application/json" })
            response.end(JSON.stringify(encodeServiceUnavailable(new ServiceUnavailable({ requestId }))))
            fiber.unsafeInterruptAsFork(deadlineFiberId)
          }, requestTimeoutMillis)
          return app.pipe(
            Effect.onInterrupt(() =>
              requestId === undefined ? Effect.void : Effect.logWarning("Request interrupted at its deadline").pipe(
                Effect.annotateLogs({
                  requestId,
                  "http.method": request.method,
                  "http.path": request.url.split("?")[0],
                  "deadline_ms": requestTimeoutMillis
                })
              )
            ),
            Effect.ensuring(Effect.sync(() => clearTimeout(timer)))
          )
        }))
  )
)
