import { HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

/** Every body of the contract is small; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 1024 * 1024

/**
 * Answers 413 to a request that declares a body over `MAX_BODY_BYTES`, with the contract's error shape, without
 * reading it.
 */
export const bodyLimit = HttpMiddleware.make((app) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const declared = Number(request.headers["content-length"] ?? 0)
    return declared > MAX_BODY_BYTES
      ? HttpServerResponse.unsafeJson({
        _tag: "PayloadTooLarge",
        message: `The request body is ${declared} bytes; send at most ${MAX_BODY_BYTES} bytes.`
      }, { status: 413, headers: { connection: "close" } })
      : app
  })
)
