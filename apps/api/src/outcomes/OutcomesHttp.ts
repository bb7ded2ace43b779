import { HttpApiBuilder } from "@effect/platform"
import { FindryApi } from "@findry/domain"
import { Effect, Layer } from "effect"
import { WorkspaceAccess } from "../auth/WorkspaceAccess.js"
import { OutcomePulls } from "./OutcomePulls.js"

/** "Pull metrics". Needs a `WorkflowEngine` (for the verdict annotation) besides the database and the adapter. */
export const OutcomesHttpLive = HttpApiBuilder.group(FindryApi, "outcomes", (handlers) =>
  Effect.gen(function*() {
    const access = yield* WorkspaceAccess
    const pulls = yield* OutcomePulls

    return handlers.handle("pull", ({ path }) =>
      access.member(path.workspaceId).pipe(Effect.zipRight(pulls.pull(path.workspaceId, path.betId))))
  })).pipe(
    Layer.provide([WorkspaceAccess.Default, OutcomePulls.Default])
  )
