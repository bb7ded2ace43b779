import { assert, describe, layer } from "@effect/vitest"
import { OutcomeRunId, type WorkspaceId } from "@findry/domain"
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { AnnotationRecordsRepo } from "../src/AnnotationRecordsRepo.js"
import { BetsRepo } from "../src/BetsRepo.js"
import { ExperimentSyncRepo } from "../src/ExperimentSyncRepo.js"
import { MetricsRepo } from "../src/MetricsRepo.js"
import { OperatorStatus } from "../src/OperatorStatus.js"
import { OutcomeRunsRepo } from "../src/OutcomeRunsRepo.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { seedBet, seedWorkspace, unknownWorkspace } from "./fixtures.js"

const AT = new Date("2026-11-10T12:00:00.000Z")

const sweepRun = (bet: { readonly workspaceId: WorkspaceId; readonly betId: string }, at: string, measured: boolean) =>
  Effect.flatMap(OutcomeRunsRepo, (runs) =>
    runs.insert({
      id: OutcomeRunId.make(randomUUID()),
      betId: bet.betId,
      workspaceId: bet.workspaceId,
      mappingId: null,
      trigger: "sweep",
      measuredAt: new Date(at),
      baselineStart: null,
      baselineEnd: null,
      observedStart: null,
      observedEnd: null,
      baseline: measured ? 1 : null,
      observed: measured ? 2 : null,
      varianceAbs: null,
      variancePct: null,
      sample: null,
      verdict: measured ? "hit" : null,
      warnings: measured ? [] : ["no mapping"]
    }))

describe("OperatorStatus", () => {
  layer(
    Layer.mergeAll(
      OperatorStatus.Default,
      AnnotationRecordsRepo.Default,
      BetsRepo.Default,
      ExperimentSyncRepo.Default,
      MetricsRepo.Default,
      OutcomeRunsRepo.Default,
      WorkspacesRepo.Default
    ).pipe(Layer.provideMerge(TestSqlLive())),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect("lists a workspace's annotation records newest change first, by status, up to the limit", () =>
      Effect.gen(function*() {
        const status = yield* OperatorStatus
        const records = yield* AnnotationRecordsRepo
        const bet = yield* seedBet
        const other = yield* seedBet
        const base = { workspaceId: bet.workspaceId, betId: bet.betId, at: AT, projectFingerprint: null }
        yield* records.upsert({ ...base, kind: "promoted", label: "P" }, { status: "pending" })
        yield* records.upsert({ ...base, kind: "shipped", label: "S" }, { status: "skipped", reason: "off" })
        yield* records.upsert({ ...other, kind: "promoted", label: "O", at: AT, projectFingerprint: null }, {
          status: "pending"
        })
        yield* records.upsert({ ...base, kind: "verdict", label: "V" }, { status: "pending" })
        const all = yield* status.annotations(bet.workspaceId, { limit: 10 })
        assert.deepStrictEqual(all.map((record) => record.label), ["V", "S", "P"])
        assert.deepStrictEqual((yield* status.annotations(bet.workspaceId, { limit: 2 })).map((r) => r.label), [
          "V",
          "S"
        ])
        const skipped = yield* status.annotations(bet.workspaceId, { status: "skipped", limit: 10 })
        assert.deepStrictEqual(skipped.map((record) => [record.label, record.reason]), [["S", "off"]])
        assert.isTrue(yield* status.workspaceExists(bet.workspaceId))
        assert.isFalse(yield* status.workspaceExists(unknownWorkspace()))
        const backlog = yield* status.annotationBacklog
        assert.strictEqual(backlog.pending, 3, "pending records of every workspace")
        assert.deepStrictEqual([backlog.failed, backlog.due, backlog.oldestDueSeconds], [0, 0, null], "no cluster yet")
        assert.deepStrictEqual(yield* status.runners(6), [])
      }))

    it.effect("summarizes the latest night of the sync only, failures in workspace order", () =>
      Effect.gen(function*() {
        const status = yield* OperatorStatus
        const sync = yield* ExperimentSyncRepo
        const result = (status: "succeeded" | "failed", reason: string | null) => ({
          status,
          experiments: [],
          gone: [],
          failed: [],
          testsTotal: 0,
          requests: 1,
          reason,
          message: null
        })
        const workspaces = [yield* seedWorkspace, yield* seedWorkspace, yield* seedWorkspace, yield* seedWorkspace]
        const [old, ok, failedA, failedB] = workspaces.map((w) => w.workspaceId)
        yield* sync.finish(old!, "2026-11-30", result("failed", "earlier night"))
        yield* sync.finish(ok!, "2026-12-01", result("succeeded", null))
        yield* sync.finish(failedA!, "2026-12-01", result("failed", "unauthorized"))
        yield* sync.finish(failedB!, "2026-12-01", result("failed", "rate limited"))
        yield* sync.begin(old!, "2026-12-01")
        const night = (yield* status.lastSync)!
        assert.deepStrictEqual(
          [night.date, night.workspaces, night.running, night.succeeded, night.failed, night.skipped],
          ["2026-12-01", 4, 1, 1, 2, 0]
        )
        assert.deepStrictEqual(
          night.failures.map((failure) => failure.workspaceId),
          [failedA!, failedB!].sort()
        )
      }))

    it.effect("summarizes the sweep runs of the latest sweep's hour", () =>
      Effect.gen(function*() {
        const status = yield* OperatorStatus
        assert.isNull(yield* status.lastSweep)
        const bets = [yield* seedBet, yield* seedBet, yield* seedBet]
        yield* sweepRun(bets[0]!, "2026-12-01T07:05:00Z", false)
        yield* sweepRun(bets[0]!, "2026-12-02T07:05:00Z", true)
        yield* sweepRun(bets[1]!, "2026-12-02T07:10:00Z", false)
        yield* sweepRun(bets[2]!, "2026-12-02T07:20:00Z", true)
        const sweep = (yield* status.lastSweep)!
        assert.deepStrictEqual(sweep.at, new Date("2026-12-02T07:20:00Z"))
        assert.deepStrictEqual([sweep.measured, sweep.verdicts, sweep.notMeasured], [3, 2, 1])
        assert.deepStrictEqual(sweep.failures.map((failure) => [failure.betId, failure.warning]), [[
          bets[1]!.betId,
          "no mapping"
        ]])
      }))
  })
})
