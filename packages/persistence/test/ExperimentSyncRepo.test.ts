import { assert, describe, layer } from "@effect/vitest"
import type { WorkspaceId } from "@findry/domain"
import { Effect, Layer, Option } from "effect"
import { ExperimentSyncRepo, type SyncResult } from "../src/ExperimentSyncRepo.js"
import { IntegrationsRepo } from "../src/IntegrationsRepo.js"
import { TestSqlLive } from "../src/Testing.js"
import { TestsRepo } from "../src/TestsRepo.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { ADMIN, connection, experiment, management, seedWorkspace } from "./fixtures.js"

const PROVIDER = "amplitude"
const DATE = "2026-12-01"

/** A connected workspace with a management key (when `management`) and tests linked to `experiments`. */
const syncedWorkspace = (experiments: ReadonlyArray<string>, options: { readonly management?: boolean } = {}) =>
  Effect.gen(function*() {
    const at = yield* seedWorkspace
    const integrations = yield* IntegrationsRepo
    yield* integrations.saveConnected(connection(at.workspaceId, "sync"))
    if (options.management !== false) yield* integrations.setCredential3(at.workspaceId, PROVIDER, management("sync"))
    const tests = yield* TestsRepo
    const ids: Array<string> = []
    for (const id of experiments) {
      const created = yield* tests.create({
        ...at,
        name: `Test ${id}`,
        type: "ab_experiment",
        createdBy: ADMIN,
        experiment: experiment(id)
      })
      ids.push(Option.getOrThrow(created).id)
    }
    return { ...at, testIds: ids }
  })

const result = (overrides: Partial<SyncResult> = {}): SyncResult => ({
  status: "succeeded",
  experiments: [],
  gone: [],
  failed: [],
  testsTotal: 0,
  requests: 1,
  reason: null,
  message: null,
  ...overrides
})

const snapshotOf = (workspaceId: WorkspaceId, testId: string) =>
  Effect.map(
    Effect.flatMap(TestsRepo, (tests) => tests.find(workspaceId, testId)),
    (test) => Option.getOrThrow(test).snapshot!
  )

describe("ExperimentSyncRepo", () => {
  layer(
    Layer.mergeAll(ExperimentSyncRepo.Default, IntegrationsRepo.Default, TestsRepo.Default, WorkspacesRepo.Default)
      .pipe(Layer.provideMerge(TestSqlLive())),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect("syncs only connected workspaces with a management key and a linked test, in id order", () =>
      Effect.gen(function*() {
        const repo = yield* ExperimentSyncRepo
        const ready = [yield* syncedWorkspace(["x1"]), yield* syncedWorkspace(["x2", "x3"])]
        const noKey = yield* syncedWorkspace(["x4"], { management: false })
        const noTests = yield* syncedWorkspace([])
        const gone = yield* syncedWorkspace(["x5"])
        yield* (yield* IntegrationsRepo).disconnect(gone.workspaceId, PROVIDER)
        const listed = yield* repo.workspacesToSync(PROVIDER)
        for (const workspace of ready) assert.include(listed, workspace.workspaceId)
        for (const workspace of [noKey, noTests, gone]) assert.notInclude(listed, workspace.workspaceId)
        assert.deepStrictEqual([...listed], [...listed].sort())
        const pages: Array<ReadonlyArray<WorkspaceId>> = []
        let after: WorkspaceId | null = null
        for (let n = 0; n <= listed.length; n++) {
          const page: ReadonlyArray<WorkspaceId> = yield* repo.workspacesToSync(PROVIDER, { after, limit: 1 })
          if (page.length === 0) break
          pages.push(page)
          after = page[0]!
        }
        assert.deepStrictEqual(pages.flat(), [...listed], "one id a page, in id order, each once")
        const range = yield* repo.workspacesToSync(PROVIDER, { after: listed[0]!, through: listed.at(-1)! })
        assert.deepStrictEqual([...range], listed.slice(1), "after excluded, through included")
        const linked = yield* repo.linkedTests(ready[1]!.workspaceId)
        assert.deepStrictEqual(linked.map((test) => test.experimentId).sort(), ["x2", "x3"])
        assert.deepStrictEqual(linked.map((test) => test.testId), [...ready[1]!.testIds].sort())
      }))

    it.effect("counts attempts of a running night; a finished night is written once and not reopened when it succeeded", () =>
      Effect.gen(function*() {
        const repo = yield* ExperimentSyncRepo
        const { workspaceId } = yield* syncedWorkspace(["n1"])
        assert.strictEqual((yield* repo.begin(workspaceId, DATE)).attempts, 1)
        assert.strictEqual((yield* repo.begin(workspaceId, DATE)).attempts, 2)
        const done = yield* repo.finish(workspaceId, DATE, result({ testsTotal: 1, requests: 3 }))
        assert.deepStrictEqual([done.status, done.requests, done.attempts], ["succeeded", 3, 2])
        const late = yield* repo.finish(workspaceId, DATE, result({ status: "failed", reason: "late" }))
        assert.deepStrictEqual([late.status, late.reason], ["succeeded", null], "the first outcome stays")
        assert.strictEqual((yield* repo.begin(workspaceId, DATE)).attempts, 2, "a finished night is not counted")
        assert.isFalse(yield* repo.reopen(workspaceId, DATE))
        assert.strictEqual(Option.getOrThrow(yield* repo.latest(workspaceId)).syncDate, DATE)
      }))

    it.effect("reopens a failed night for another attempt", () =>
      Effect.gen(function*() {
        const repo = yield* ExperimentSyncRepo
        const { workspaceId } = yield* syncedWorkspace(["f1"])
        yield* repo.begin(workspaceId, DATE)
        yield* repo.finish(workspaceId, DATE, result({ status: "failed", reason: "unauthorized", message: "m" }))
        assert.isTrue(yield* repo.reopen(workspaceId, DATE))
        assert.strictEqual((yield* repo.begin(workspaceId, DATE)).attempts, 2)
        const done = yield* repo.finish(workspaceId, DATE, result())
        assert.deepStrictEqual([done.status, done.reason], ["succeeded", null])
        yield* repo.begin(workspaceId, "2026-12-02")
        assert.strictEqual(Option.getOrThrow(yield* repo.latest(workspaceId)).syncDate, "2026-12-02")
        assert.isTrue((yield* repo.runsOn(DATE)).some((run) => run.workspaceId === workspaceId))
        assert.isFalse((yield* repo.runsOn("2026-11-30")).some((run) => run.workspaceId === workspaceId))
      }))

    it.effect("refreshes only the workspace's own snapshots of an experiment id, and marks gone and failed ones", () =>
      Effect.gen(function*() {
        const repo = yield* ExperimentSyncRepo
        const a = yield* syncedWorkspace(["shared", "vanished", "broken"])
        const b = yield* syncedWorkspace(["shared"])
        yield* repo.begin(a.workspaceId, DATE)
        const done = yield* repo.finish(
          a.workspaceId,
          DATE,
          result({
            experiments: [experiment("shared", { name: "Renamed", archived: true })],
            gone: ["vanished"],
            failed: [{ experimentId: "broken", error: "Amplitude answered 500" }],
            testsTotal: 3
          })
        )
        assert.deepStrictEqual(
          [done.testsSynced, done.experimentsArchived, done.experimentsDeleted],
          [2, 1, 1]
        )
        const [shared, vanished, broken] = a.testIds
        assert.deepStrictEqual(
          [(yield* snapshotOf(a.workspaceId, shared!)).name, (yield* snapshotOf(a.workspaceId, shared!)).archived],
          ["Renamed", true]
        )
        assert.isTrue((yield* snapshotOf(a.workspaceId, vanished!)).deleted)
        const failed = yield* snapshotOf(a.workspaceId, broken!)
        assert.deepStrictEqual([failed.syncStatus, failed.syncError], ["failed", "Amplitude answered 500"])
        const theirs = yield* snapshotOf(b.workspaceId, b.testIds[0]!)
        assert.deepStrictEqual([theirs.name, theirs.archived], ["Experiment shared", false], "b's snapshot untouched")
      }))

    it.effect("begins and finishes a wave of workspaces in one go, leaving alone the nights that already finished", () =>
      Effect.gen(function*() {
        const repo = yield* ExperimentSyncRepo
        const a = yield* syncedWorkspace(["wa1", "wa2"])
        const b = yield* syncedWorkspace(["wb1"])
        const done = yield* syncedWorkspace(["wd1"])
        yield* repo.begin(done.workspaceId, DATE)
        yield* repo.finish(done.workspaceId, DATE, result({ status: "failed", reason: "first" }))
        const wave = [b.workspaceId, a.workspaceId, done.workspaceId, a.workspaceId]
        const begun = yield* repo.beginAll(wave, DATE)
        const sorted = [a.workspaceId, b.workspaceId, done.workspaceId].sort()
        assert.deepStrictEqual(begun.map((run) => run.workspaceId), sorted, "one row per workspace, in id order")
        const byId = new Map(begun.map((run) => [run.workspaceId, run]))
        assert.deepStrictEqual(
          [byId.get(a.workspaceId)!.status, byId.get(b.workspaceId)!.status, byId.get(done.workspaceId)!.status],
          ["running", "running", "failed"]
        )
        const linked = yield* repo.linkedTestsOf(wave)
        assert.deepStrictEqual(linked.get(a.workspaceId)!.map((test) => test.experimentId).sort(), ["wa1", "wa2"])
        assert.deepStrictEqual(linked.get(b.workspaceId)!.map((test) => test.experimentId), ["wb1"])
        const finished = yield* repo.finishAll(DATE, [
          {
            workspaceId: a.workspaceId,
            result: result({ experiments: [experiment("wa1", { name: "A one" })], gone: ["wa2"], testsTotal: 2 })
          },
          {
            workspaceId: b.workspaceId,
            result: result({
              status: "failed",
              reason: "Unreachable",
              failed: [{ experimentId: "wb1", error: "Amplitude did not answer" }],
              testsTotal: 1
            })
          },
          { workspaceId: done.workspaceId, result: result({ experiments: [experiment("wd1", { name: "Late" })] }) }
        ])
        const outcome = new Map(finished.map((run) => [run.workspaceId, run]))
        assert.deepStrictEqual(finished.map((run) => run.workspaceId), sorted)
        assert.deepStrictEqual(
          [outcome.get(a.workspaceId)!.status, outcome.get(a.workspaceId)!.testsSynced],
          ["succeeded", 2],
          "a refreshed and a gone test each count as synced"
        )
        assert.deepStrictEqual(
          [outcome.get(b.workspaceId)!.status, outcome.get(b.workspaceId)!.reason],
          ["failed", "Unreachable"]
        )
        assert.deepStrictEqual(
          [outcome.get(done.workspaceId)!.status, outcome.get(done.workspaceId)!.reason],
          ["failed", "first"],
          "the first outcome stays"
        )
        assert.strictEqual((yield* snapshotOf(a.workspaceId, a.testIds[0]!)).name, "A one")
        assert.isTrue((yield* snapshotOf(a.workspaceId, a.testIds[1]!)).deleted)
        assert.strictEqual((yield* snapshotOf(b.workspaceId, b.testIds[0]!)).syncError, "Amplitude did not answer")
        assert.strictEqual(
          (yield* snapshotOf(done.workspaceId, done.testIds[0]!)).name,
          "Experiment wd1",
          "nothing is written for a night that had finished"
        )
        assert.deepStrictEqual(yield* repo.beginAll([], DATE), [])
        assert.deepStrictEqual(yield* repo.finishAll(DATE, []), [])
      }))
  })
})
