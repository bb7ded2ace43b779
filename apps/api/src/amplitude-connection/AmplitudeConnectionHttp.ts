import { HttpApiBuilder } from "@effect/platform"
import { AnnotationSchedulerLive } from "@findry/annotations"
import { CurrentUser, FindryApi, type WorkspaceId } from "@findry/domain"
import { Effect, Layer } from "effect"
import { WorkspaceAccess } from "../auth/WorkspaceAccess.js"
import { AmplitudeConnections } from "./AmplitudeConnections.js"
import { ConnectionViewCache } from "./ConnectionViewCache.js"

export const AmplitudeConnectionHttpLive = HttpApiBuilder.group(
  FindryApi,
  "amplitudeConnection",
  (handlers) =>
    Effect.gen(function*() {
      const access = yield* WorkspaceAccess
      const connections = yield* AmplitudeConnections
      const views = yield* ConnectionViewCache
      /** Every change to the connection goes through here, so that no reader is answered from before it. */
      const changing = <A, E, R>(workspaceId: WorkspaceId, change: Effect.Effect<A, E, R>) =>
        Effect.ensuring(change, views.invalidate(workspaceId))

      return handlers
        .handle("get", ({ path }) =>
          Effect.flatMap(
            CurrentUser,
            ({ userId }) => views.through(path.workspaceId, userId, connections.getForMember(path.workspaceId, userId))
          ))
        .handle("connect", ({ path, payload }) =>
          changing(
            path.workspaceId,
            Effect.gen(function*() {
              const admin = yield* access.admin(path.workspaceId)
              const { connection } = yield* connections.connect(path.workspaceId, admin.actorId, payload)
              return connection
            })
          ))
        .handle("update", ({ path, payload }) =>
          changing(
            path.workspaceId,
            Effect.gen(function*() {
              const admin = yield* access.admin(path.workspaceId)
              return yield* connections.setAnnotationsEnabled(
                path.workspaceId,
                admin.actorId,
                payload.annotationsEnabled
              )
            })
          ))
        .handle("disconnect", ({ path }) =>
          changing(
            path.workspaceId,
            Effect.gen(function*() {
              const admin = yield* access.admin(path.workspaceId)
              return yield* connections.disconnect(path.workspaceId, admin.actorId)
            })
          ))
        .handle("setManagementKey", ({ path, payload }) =>
          changing(
            path.workspaceId,
            Effect.gen(function*() {
              const admin = yield* access.admin(path.workspaceId)
              return yield* connections.setManagementKey(path.workspaceId, admin.actorId, payload.managementKey)
            })
          ))
        .handle("removeManagementKey", ({ path }) =>
          changing(
            path.workspaceId,
            Effect.gen(function*() {
              const admin = yield* access.admin(path.workspaceId)
              return yield* connections.removeManagementKey(path.workspaceId, admin.actorId)
            })
          ))
        .handle("retryAnnotations", ({ path, urlParams }) =>
          Effect.gen(function*() {
            const admin = yield* access.admin(path.workspaceId)
            return yield* connections.retryAnnotations(path.workspaceId, admin.actorId, urlParams.betId)
          }))
        .handle("cohorts", ({ path }) =>
          Effect.gen(function*() {
            yield* access.member(path.workspaceId)
            const { items, ...rest } = yield* connections.cohorts(path.workspaceId)
            return { ...rest, cohorts: items }
          }))
        .handle("experiments", ({ path, urlParams }) =>
          Effect.gen(function*() {
            yield* access.member(path.workspaceId)
            const { items, ...rest } = yield* connections.experiments(
              path.workspaceId,
              urlParams.includeArchived ?? false
            )
            return { ...rest, experiments: items }
          }))
        .handle("events", ({ path }) =>
          Effect.gen(function*() {
            yield* access.member(path.workspaceId)
            const { items, ...rest } = yield* connections.events(path.workspaceId)
            return { ...rest, events: items }
          }))
    })
).pipe(
  Layer.provide([WorkspaceAccess.Default, AmplitudeConnections.Default.pipe(Layer.provide(AnnotationSchedulerLive))])
)
