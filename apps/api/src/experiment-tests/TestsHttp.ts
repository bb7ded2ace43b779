import { HttpApiBuilder } from "@effect/platform"
import { FindryApi } from "@findry/domain"
import { Effect, Layer } from "effect"
import { WorkspaceAccess } from "../auth/WorkspaceAccess.js"
import { Tests } from "./Tests.js"

export const TestsHttpLive = HttpApiBuilder.group(FindryApi, "tests", (handlers) =>
  Effect.gen(function*() {
    const access = yield* WorkspaceAccess
    const tests = yield* Tests

    return handlers
      .handle("create", ({ path, payload }) =>
        Effect.gen(function*() {
          const member = yield* access.member(path.workspaceId)
          return yield* tests.create(path.workspaceId, path.projectId, member.actorId, payload)
        }))
      .handle("list", ({ path }) =>
        Effect.gen(function*() {
          yield* access.member(path.workspaceId)
          return { tests: yield* tests.list(path.workspaceId, path.projectId) }
        }))
      .handle("get", ({ path }) =>
        Effect.gen(function*() {
          yield* access.member(path.workspaceId)
          return yield* tests.get(path.workspaceId, path.testId)
        }))
      .handle("linkExperiment", ({ path, payload }) =>
        Effect.gen(function*() {
          yield* access.member(path.workspaceId)
          return yield* tests.linkExperiment(path.workspaceId, path.testId, payload.experimentId)
        }))
      .handle("experimentSync", ({ path }) =>
        Effect.gen(function*() {
          yield* access.member(path.workspaceId)
          return { lastRun: yield* tests.lastSync(path.workspaceId) }
        }))
  })).pipe(Layer.provide([WorkspaceAccess.Default, Tests.Default]))
