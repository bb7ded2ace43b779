import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { PickerAnswers } from "../src/PickerAnswers.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { seedWorkspace } from "./fixtures.js"

describe("PickerAnswers", () => {
  layer(Layer.mergeAll(PickerAnswers.Default, WorkspacesRepo.Default).pipe(Layer.provideMerge(TestSqlLive())), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("gives an answer back only to its workspace and picker, for the credentials it was read with", () =>
      Effect.gen(function*() {
        const answers = yield* PickerAnswers
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        yield* answers.store(a.workspaceId, "cohorts", "keys-1", [{ id: "c1" }])
        yield* answers.store(b.workspaceId, "cohorts", "keys-1", [{ id: "theirs" }])
        assert.deepStrictEqual(
          yield* answers.fresh(a.workspaceId, "cohorts", "keys-1", "1 hour"),
          Option.some([{ id: "c1" }])
        )
        assert.isTrue(Option.isNone(yield* answers.fresh(a.workspaceId, "experiments", "keys-1", "1 hour")))
        assert.isTrue(Option.isNone(yield* answers.fresh(a.workspaceId, "cohorts", "keys-2", "1 hour")), "re-keyed")
        yield* answers.store(a.workspaceId, "cohorts", "keys-2", [{ id: "c2" }])
        assert.isTrue(Option.isNone(yield* answers.fresh(a.workspaceId, "cohorts", "keys-1", "1 hour")), "replaced")
        assert.deepStrictEqual(
          yield* answers.fresh(a.workspaceId, "cohorts", "keys-2", "1 hour"),
          Option.some([{ id: "c2" }])
        )
        assert.deepStrictEqual(
          yield* answers.fresh(b.workspaceId, "cohorts", "keys-1", "1 hour"),
          Option.some([{ id: "theirs" }])
        )
      }))

    it.effect("an answer older than the maximum age is not given back", () =>
      Effect.gen(function*() {
        const answers = yield* PickerAnswers
        const { workspaceId } = yield* seedWorkspace
        yield* answers.store(workspaceId, "events", "keys", ["e"])
        assert.isTrue(Option.isNone(yield* answers.fresh(workspaceId, "events", "keys", "0 millis")))
        assert.isTrue(Option.isSome(yield* answers.fresh(workspaceId, "events", "keys", "1 minute")))
      }))
  })
})
