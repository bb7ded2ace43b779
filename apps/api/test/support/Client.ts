import { type Client, FindryClient } from "@findry/client"
import type { MappingParams, MetricId, SavedMapping, WorkspaceId } from "@findry/domain"
import { Effect, Redacted } from "effect"
import { freshUser, tokenFor } from "./TestApi.js"

/**
 * The typed client of `@findry/client` as `user` (no token when null), over the suite's `HttpClient` (aimed at
 * the test server). An answer is decoded by its status against the contract, so a success or a tagged error
 * received also proves the status the contract gives it (201, 204, 404 `NotFound`, …): any other is a failure.
 */
export const clientAs = (user: string | null) =>
  FindryClient.make({ token: user === null ? undefined : Redacted.make(tokenFor(user)) })

/** The typed client sending `token` as it is (tests of forged, expired and malformed tokens). */
export const clientWithToken = (token: string) => FindryClient.make({ token: Redacted.make(token) })

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
