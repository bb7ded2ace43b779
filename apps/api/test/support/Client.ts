import { type Headers, HttpClient, HttpClientResponse } from "@effect/platform"
import { assert } from "@effect/vitest"
import { type Client, FindryClient, type FindryClientOptions } from "@findry/client"
import type { MappingParams, MetricId, SavedMapping, WorkspaceId } from "@findry/domain"
import { Effect, Either, FiberRef, Redacted } from "effect"
import { receivedBodies, receivedHeaders } from "./Received.js"
import { freshUser, tokenFor } from "./TestApi.js"

/** What a typed call received besides its decoded result: the status, the headers and the body as sent. */
export interface RawAnswer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly text: string
}

/** Where the responses of the current fiber's typed calls are written, while `answered` runs one. */
const currentAnswer = FiberRef.unsafeMake<{ answer?: RawAnswer } | undefined>(undefined)

/**
 * The suite's `HttpClient` keeping every response's body and headers for the leak test, and handing the raw
 * answer to `answered` when it is waiting for one. The body is read here once, so the response handed on to the
 * client's decoding is a copy made from it.
 */
const recordingAnswers = Effect.map(
  HttpClient.HttpClient,
  HttpClient.transformResponse(Effect.flatMap((response) =>
    Effect.gen(function*() {
      const bytes = new Uint8Array(yield* response.arrayBuffer)
      const text = new TextDecoder().decode(bytes)
      receivedBodies.push(text)
      receivedHeaders.push(JSON.stringify(response.headers))
      const cell = yield* FiberRef.get(currentAnswer)
      if (cell !== undefined) cell.answer = { status: response.status, headers: response.headers, text }
      const copy = new Response(bytes.length === 0 ? null : bytes, {
        status: response.status,
        headers: new globalThis.Headers(Object.entries(response.headers))
      })
      return HttpClientResponse.fromWeb(response.request, copy)
    })
  ))
)

const typedClient = (options: FindryClientOptions) =>
  FindryClient.make(options).pipe(Effect.provideServiceEffect(HttpClient.HttpClient, recordingAnswers))

/** A typed call's decoded outcome (the success, or the contract's tagged error) next to the raw answer. */
export interface Answered<A, E> extends RawAnswer {
  readonly result: Either.Either<A, E>
}

/**
 * Runs a call of a client of this module and yields its typed outcome together with the raw answer, for the
 * tests that also check what the contract does not type: the status, headers such as `Retry-After`, the text.
 */
export const answered = <A, E, R>(typedCall: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const cell: { answer?: RawAnswer } = {}
    const result = yield* Effect.either(Effect.locally(typedCall, currentAnswer, cell))
    if (cell.answer === undefined) return yield* Effect.die(new Error(`No answer received: ${String(result)}`))
    return { ...cell.answer, result } satisfies Answered<A, E>
  })

/**
 * Asserts that the answer is the tagged error `tag` with `status` and a message; yields that error. `what` names
 * the call in the failure message.
 */
export const expectFailure = <A, E extends { readonly _tag: string }, T extends E["_tag"]>(
  answer: Answered<A, E>,
  tag: T,
  status: number,
  what = ""
): Extract<E, { readonly _tag: T }> => {
  const context = `${what} ${answer.text}`
  assert.strictEqual(answer.status, status, context)
  assert.isTrue(Either.isLeft(answer.result), context)
  const error = (answer.result as Either.Left<E, A>).left
  assert.strictEqual(error._tag, tag, context)
  assert.isString((error as { readonly message?: unknown }).message, context)
  return error as Extract<E, { readonly _tag: T }>
}

/** Asserts that the answer is a success with `status`; yields the decoded value. */
export const expectSuccess = <A, E>(answer: Answered<A, E>, status: number, what = ""): A => {
  const context = `${what} ${answer.text}`
  assert.strictEqual(answer.status, status, context)
  assert.isTrue(Either.isRight(answer.result), context)
  return (answer.result as Either.Right<E, A>).right
}

/**
 * The typed client of `@findry/client` as `user` (no token when null), over the suite's `HttpClient` (aimed at
 * the test server). An answer is decoded by its status against the contract, so a success or a tagged error
 * received also proves the status the contract gives it (201, 204, 404 `NotFound`, …): any other is a failure.
 */
export const clientAs = (user: string | null) =>
  typedClient({ token: user === null ? undefined : Redacted.make(tokenFor(user)) })

/** The typed client sending `token` as it is (tests of forged, expired and malformed tokens). */
export const clientWithToken = (token: string) => typedClient({ token: Redacted.make(token) })

/** A new workspace named `name` with `admin` as its admin; yields its id. */
export const workspaceOf = (admin: string, name = "Acme") =>
  clientAs(admin).pipe(
    Effect.flatMap((client) => client.workspaces.create({ payload: { name } })),
    Effect.map((workspace) => workspace.id),
    Effect.orDie
  )

/** A new workspace with an admin and a member, and the typed client of each. */
export const workspaceWithMember = Effect.gen(function*() {
  const adminId = freshUser("admin")
  const memberId = freshUser("member")
  const [admin, member] = yield* Effect.all([clientAs(adminId), clientAs(memberId)])
  const workspaceId = yield* workspaceOf(adminId)
  const path = { workspaceId }
  yield* admin.workspaces.setMember({ path: { workspaceId, userId: memberId }, payload: { role: "member" } })
  return { adminId, memberId, admin, member, workspaceId, path }
})

/** The connect payload for a project's keys (an emulator's demo project, or wrong keys on purpose). */
export const amplitudeKeys = (
  project: { readonly apiKey: string; readonly secretKey: string },
  region: "us" | "eu" = "us"
) => ({ region, apiKey: Redacted.make(project.apiKey), secretKey: Redacted.make(project.secretKey) })

/**
 * `metrics.putMapping` for any mapping kind: the derived client types that endpoint as one function per kind of
 * its union payload, which a caller holding any `MappingParams` cannot call directly.
 */
export const putMapping = (
  client: Client,
  request: {
    readonly path: { readonly workspaceId: WorkspaceId; readonly metricId: MetricId }
    readonly payload: MappingParams
  }
) =>
  (client.metrics.putMapping as unknown as (
    request: unknown
  ) => Effect.Effect<typeof SavedMapping.Type, Effect.Effect.Error<ReturnType<Client["metrics"]["getMapping"]>>>)(
    request
  )
