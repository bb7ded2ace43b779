import { HttpApiBuilder } from "@effect/platform"
import { FindryApi } from "@findry/domain"
import { Effect, Layer } from "effect"
import { WorkspaceAccess } from "../auth/WorkspaceAccess.js"
import { Metrics } from "./Metrics.js"

export const MetricsHttpLive = HttpApiBuilder.group(FindryApi, "metrics", (handlers) =>
  Effect.gen(function*() {
    const access = yield* WorkspaceAccess
    const metrics = yield* Metrics

    return handlers
      .handle("create", ({ path, payload }) =>
        access.member(path.workspaceId).pipe(Effect.zipRight(metrics.create(path.workspaceId, payload))))
      .handle("list", ({ path }) =>
        access.member(path.workspaceId).pipe(
          Effect.zipRight(metrics.list(path.workspaceId)),
          Effect.map((list) => ({ metrics: list }))
        ))
      .handle("update", ({ path, payload }) =>
        access.member(path.workspaceId).pipe(
          Effect.zipRight(metrics.update(path.workspaceId, path.metricId, payload))
        ))
      .handle("putMapping", ({ path, payload }) =>
        Effect.gen(function*() {
          const member = yield* access.member(path.workspaceId)
          return yield* metrics.saveMapping(path.workspaceId, member.actorId, path.metricId, payload)
        }))
      .handle("getMapping", ({ path }) =>
        access.member(path.workspaceId).pipe(Effect.zipRight(metrics.getMapping(path.workspaceId, path.metricId))))
      .handle("deleteMapping", ({ path }) =>
        Effect.gen(function*() {
          const member = yield* access.member(path.workspaceId)
          yield* metrics.deleteMapping(path.workspaceId, member.actorId, path.metricId)
        }))
  })).pipe(Layer.provide([WorkspaceAccess.Default, Metrics.Default]))
