// The one place the page creates its API client: @findry/client, derived from the contract, so every call and
// every failure is typed. Here it runs over the browser's fetch, against the origin that served the page.
import { FetchHttpClient } from "@effect/platform"
import { type Client, FindryClient as Findry } from "@findry/client"
import { Effect, Either, Redacted } from "effect"

export type FindryClient = Client

export const clientFor = (token: string): FindryClient =>
  Effect.runSync(
    Findry.make({ baseUrl: window.location.origin, token: Redacted.make(token) }).pipe(
      Effect.provide(FetchHttpClient.layer)
    )
  )

/** A failed call as the page shows it: the `_tag` picks the words, the other fields fill them in. */
export interface Failure {
  readonly _tag: string
  readonly message: string
  readonly detectedRegion?: "us" | "eu"
  readonly retryAfterSeconds?: number
  readonly status?: number
  readonly fields?: ReadonlyArray<{ readonly field: string; readonly problem: string }>
}

const toFailure = (error: unknown): Failure => {
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const tagged = error as { _tag: unknown; message?: unknown }
    return {
      ...(error as object),
      _tag: String(tagged._tag),
      message: typeof tagged.message === "string" ? tagged.message : String(error)
    }
  }
  return { _tag: "Unknown", message: String(error) }
}

/** Runs a client call; resolves to the value or the failure, never rejects. */
export const run = <A, E>(call: Effect.Effect<A, E>): Promise<Either.Either<A, Failure>> =>
  Effect.runPromise(
    Effect.either(Effect.mapError(call, toFailure)).pipe(
      Effect.catchAllDefect((defect) => Effect.succeed(Either.left(toFailure(defect))))
    )
  )
