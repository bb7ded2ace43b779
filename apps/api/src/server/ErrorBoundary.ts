import type { HttpServerResponse } from "@effect/platform"
import { HttpApiBuilder, HttpApiError, HttpServerError } from "@effect/platform"
import { SqlError } from "@effect/sql/SqlError"
import { FindryApi, InternalError, RateLimited, ServiceUnavailable } from "@findry/domain"
import { TIMED_OUT_SQLSTATES } from "@findry/persistence"
import { Cause, Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import { BodyTooLargeError, payloadTooLargeResponse } from "./BodyLimit.js"
import { errorResponse } from "./ErrorResponse.js"

/** A body that cannot be read as the endpoint's encoding (malformed JSON, or cut off at the size limit). */
const unreadableBody = (defect: unknown) =>
  HttpServerError.isServerError(defect) && defect._tag === "RequestError" && defect.reason === "Decode"
    ? Option.some(defect)
    : Option.none()

/**
 * The database did not answer in time: PostgreSQL cancelled a statement for running or waiting on a lock too long
 * (the pool's session timeouts), or no pooled connection became free within the pool's connect timeout.
 */
const isDatabaseTimeout = (defect: unknown) =>
  defect instanceof SqlError && (
    defect.message.startsWith("Failed to acquire connection") ||
    (typeof defect.cause === "object" && defect.cause !== null &&
      TIMED_OUT_SQLSTATES.has(String((defect.cause as { readonly code?: unknown }).code)))
  )

const rateLimitedResponse = (error: RateLimited) =>
  errorResponse(RateLimited, error, { "retry-after": String(error.retryAfterSeconds) })

/** Logs `cause` under a fresh request id, which the answer carries instead of any internals. */
const withRequestId = <E>(message: string, cause: Cause.Cause<unknown>, answer: (requestId: string) => E) => {
  const requestId = randomUUID()
  return Effect.logError(message, cause).pipe(
    Effect.annotateLogs("requestId", requestId),
    Effect.zipRight(Effect.fail(answer(requestId)))
  )
}

/**
 * Turns an unreadable request body into a 400 `HttpApiDecodeError` (413 `PayloadTooLarge` when it was cut off at
 * the size limit), a database timeout into a 503 `ServiceUnavailable`, other defects into a 500 `InternalError`
 * that carries only a request id (the cause is logged under the same id), and gives every `RateLimited` answer a
 * `Retry-After` header.
 */
export const ErrorBoundaryLive = HttpApiBuilder.middleware(FindryApi, (app) =>
  app.pipe(
    Effect.catchAllCause((
      cause: Cause.Cause<unknown>
    ): Effect.Effect<
      HttpServerResponse.HttpServerResponse,
      InternalError | ServiceUnavailable | HttpApiError.HttpApiDecodeError
    > => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        return failure.value instanceof RateLimited
          ? rateLimitedResponse(failure.value)
          : Effect.failCause(cause as Cause.Cause<never>)
      }
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const defect = Cause.dieOption(cause)
      const body = Option.flatMap(defect, unreadableBody)
      if (Option.isSome(body)) {
        return body.value.cause instanceof BodyTooLargeError
          ? payloadTooLargeResponse()
          : Effect.fail(
            new HttpApiError.HttpApiDecodeError({ issues: [], message: "The request body is not valid JSON." })
          )
      }
      if (Option.exists(defect, isDatabaseTimeout)) {
        return withRequestId(
          "The database did not answer in time",
          cause,
          (requestId) => new ServiceUnavailable({ requestId })
        )
      }
      return withRequestId("Unexpected failure while handling a request", cause, (requestId) =>
        new InternalError({ requestId }))
    })
  ))
