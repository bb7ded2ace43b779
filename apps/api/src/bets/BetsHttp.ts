import { HttpApiBuilder } from "@effect/platform"
import { AnnotationSchedulerLive } from "@findry/annotations"
import { FindryApi } from "@findry/domain"
import { Effect, Layer } from "effect"
import { WorkspaceAccess } from "../auth/WorkspaceAccess.js"
import { Bets } from "./Bets.js"

/** Needs `AnnotationScheduler` (and through it a workflow engine) besides the database. */
export const BetsHttpLive = HttpApiBuilder.group(FindryApi, "bets", (handlers) =>
  Effect.gen(function*() {
    const access = yield* WorkspaceAccess
    const bets = yield* Bets

    return handlers
      .handle("create", ({ path, payload }) =>
        Effect.gen(function*() {
          const member = yield* access.member(path.workspaceId)
          return yield* bets.create(path.workspaceId, path.projectId, member.actorId, payload)
        }))
      .handle("get", ({ path }) =>
        access.member(path.workspaceId).pipe(Effect.zipRight(bets.get(path.workspaceId, path.betId))))
      .handle("update", ({ path, payload }) =>
        access.member(path.workspaceId).pipe(Effect.zipRight(bets.update(path.workspaceId, path.betId, payload))))
      .handle("ship", ({ path, payload }) =>
        access.member(path.workspaceId).pipe(
          Effect.zipRight(bets.ship(path.workspaceId, path.betId, payload.shippedAt))
        ))
      .handle("logOutcome", ({ path, payload }) =>
        access.member(path.workspaceId).pipe(
          Effect.zipRight(bets.logOutcome(path.workspaceId, path.betId, payload))
        ))
      .handle("overrideVerdict", ({ path, payload }) =>
        Effect.gen(function*() {
          const member = yield* access.member(path.workspaceId)
          return yield* bets.overrideVerdict(path.workspaceId, path.betId, member.actorId, payload.verdict)
        }))
      .handle("annotations", ({ path, urlParams }) =>
        Effect.gen(function*() {
          yield* access.member(path.workspaceId)
          return { annotations: yield* bets.activity(path.workspaceId, urlParams.limit ?? 500) }
        }))
  })).pipe(Layer.provide([WorkspaceAccess.Default, Bets.Default.pipe(Layer.provide(AnnotationSchedulerLive))]))
