import { assert, describe, layer } from "@effect/vitest"
import type { ProjectId, WorkspaceId } from "@findry/domain"
import { Effect, Layer, Option } from "effect"
import { TestSqlLive } from "../src/Testing.js"
import { type TestKind, TestsRepo } from "../src/TestsRepo.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { ADMIN, experiment, seedWorkspace, unknownProject } from "./fixtures.js"

const newTest = (
  at: { readonly workspaceId: WorkspaceId; readonly projectId: ProjectId },
  name: string,
  linked: ReturnType<typeof experiment> | null,
  type: TestKind = "ab_experiment"
) => ({ ...at, name, type, createdBy: ADMIN, experiment: linked })

describe("TestsRepo", () => {
  layer(Layer.mergeAll(TestsRepo.Default, WorkspacesRepo.Default).pipe(Layer.provideMerge(TestSqlLive())), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("creates a test only in a project of the same workspace, with the snapshot of its experiment", () =>
      Effect.gen(function*() {
        const tests = yield* TestsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        const created = Option.getOrThrow(yield* tests.create(newTest(a, "Checkout copy", experiment("e1"))))
        assert.strictEqual(created.amplitudeExperimentId, "e1")
        assert.deepStrictEqual(
          [created.snapshot?.key, created.snapshot?.syncStatus, created.snapshot?.variants.length],
          ["key-e1", "synced", 2]
        )
        assert.isTrue(Option.isNone(yield* tests.create(newTest({ ...b, projectId: a.projectId }, "Stolen", null))))
        assert.isTrue(Option.isNone(yield* tests.create(newTest({ ...a, projectId: unknownProject() }, "Lost", null))))
        assert.isTrue(Option.isNone(yield* tests.find(b.workspaceId, created.id)), "b cannot read a's test")
        assert.deepStrictEqual(
          (yield* tests.list(a.workspaceId, a.projectId)).map((test) => test.name),
          ["Checkout copy"],
          "the refused creates left no test behind"
        )
        assert.deepStrictEqual(yield* tests.list(b.workspaceId, a.projectId), [])
      }))

    it.effect("lists a project's tests in creation order", () =>
      Effect.gen(function*() {
        const tests = yield* TestsRepo
        const a = yield* seedWorkspace
        const other = yield* (yield* WorkspacesRepo).createProject(a.workspaceId, "Other")
        const names = ["Zulu", "alpha", "Mike"]
        for (const name of names) yield* tests.create(newTest(a, name, null, "other"))
        yield* tests.create(newTest({ ...a, projectId: other.id }, "Elsewhere", null))
        assert.deepStrictEqual((yield* tests.list(a.workspaceId, a.projectId)).map((test) => test.name), names)
      }))

    it.effect("re-links an A/B test to another experiment; another workspace or a non-A/B test cannot be linked", () =>
      Effect.gen(function*() {
        const tests = yield* TestsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        const ab = Option.getOrThrow(yield* tests.create(newTest(a, "Pricing", experiment("e1"))))
        const other = Option.getOrThrow(yield* tests.create(newTest(a, "Survey", null, "other")))
        const relinked = Option.getOrThrow(
          yield* tests.link(a.workspaceId, ab.id, experiment("e2", { archived: true }))
        )
        assert.strictEqual(relinked.amplitudeExperimentId, "e2")
        assert.deepStrictEqual([relinked.snapshot?.experimentId, relinked.snapshot?.archived], ["e2", true])
        assert.isTrue(Option.isNone(yield* tests.link(b.workspaceId, ab.id, experiment("e3"))))
        assert.isTrue(Option.isNone(yield* tests.link(a.workspaceId, other.id, experiment("e3"))))
        const stored = Option.getOrThrow(yield* tests.find(a.workspaceId, ab.id))
        assert.strictEqual(stored.amplitudeExperimentId, "e2", "the refused link changed nothing")
        assert.isNull(Option.getOrThrow(yield* tests.find(a.workspaceId, other.id)).snapshot)
      }))
  })
})
