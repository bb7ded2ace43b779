import { HttpApiBuilder, HttpApiError, HttpServerError, HttpServerResponse } from "@effect/platform"
import { FindryApi, InternalError, RateLimited } from "@findry/domain"
import { Cause, Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"

const encodeRateLimited = Schema.encode(RateLimited)

/** A body that cannot be read as the endpoint's encoding (e.g. malformed JSON) reaches here as a defect. */
const isUnreadableBody = (defect: unknown) =>
  HttpServerError.isServerError(defect) && defect._tag === "RequestError" && defect.reason === "Decode"

const rateLimitedResponse = (error: RateLimited) =>
  encodeRateLimited(error).pipe(
    Effect.flatMap((body) =>
      HttpServerResponse.json(body, { status: 429, headers: { "retry-after": String(error.retryAfterSeconds) } })
    ),
    Effect.orDie
  )

/**
 * Turns an unreadable request body into a 400 `HttpApiDecodeError`, other defects into a 500 `InternalError`
 * that carries only a request id (the cause is logged under the same id), and gives every `RateLimited` answer
 * a `Retry-After` header.
 */
export const ErrorBoundaryLive = HttpApiBuilder.middleware(FindryApi, (app) =>
  app.pipe(
    Effect.catchAllCause((
      cause: Cause.Cause<unknown>
    ): Effect.Effect<HttpServerResponse.HttpServerResponse, InternalError | HttpApiError.HttpApiDecodeError> => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        return failure.value instanceof RateLimited
          ? rateLimitedResponse(failure.value)
          : Effect.failCause(cause as Cause.Cause<never>)
      }
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      if (Cause.dieOption(cause).pipe(Option.exists(isUnreadableBody))) {
        return Effect.fail(
          new HttpApiError.HttpApiDecodeError({ issues: [], message: "The request body is not valid JSON." })
        )
      }
      const requestId = randomUUID()
      return Effect.logError("Unexpected failure while handling a request", cause).pipe(
        Effect.annotateLogs("requestId", requestId),
        Effect.zipRight(Effect.fail(new InternalError({ requestId })))
      )
    })
  ))
