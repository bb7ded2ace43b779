import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"

/**
 * A contract error written as its JSON body with the status its schema declares, for answers that must carry a
 * header (`Retry-After`, `Connection: close`) or are given before the API's own encoding runs.
 */
export const errorResponse = <A, I>(
  schema: Schema.Schema<A, I>,
  error: A,
  headers: Record<string, string> = {}
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Schema.encode(schema)(error).pipe(
    Effect.flatMap((body) => HttpServerResponse.json(body, { status: HttpApiSchema.getStatusError(schema), headers })),
    Effect.orDie
  )
