// The one place the page creates its API client: derived from the contract, so every call and every failure
// is typed. When a shared client package exists, this module is what moves there.
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { FindryApi } from "@findry/domain"
import { Effect, Either } from "effect"

const makeClient = (token: string) =>
  HttpApiClient.make(FindryApi, {
    baseUrl: window.location.origin,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(token))
  }).pipe(Effect.provide(FetchHttpClient.layer))

export type FindryClient = Effect.Effect.Success<ReturnType<typeof makeClient>>

export const clientFor = (token: string): FindryClient => Effect.runSync(makeClient(token))

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
