import { assert, describe, layer } from "@effect/vitest"
import type { AnnotationKind, BetId, WorkspaceId } from "@findry/domain"
import { Effect, Layer, Option } from "effect"
import { AnnotationRecordsRepo, type DesiredAnnotation } from "../src/AnnotationRecordsRepo.js"
import { BetsRepo } from "../src/BetsRepo.js"
import { MetricsRepo } from "../src/MetricsRepo.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { seedBet } from "./fixtures.js"

const desired = (
  bet: { readonly workspaceId: WorkspaceId; readonly betId: BetId },
  kind: AnnotationKind,
  label: string,
  at = new Date("2026-11-10T12:00:00.000Z")
): DesiredAnnotation => ({ ...bet, kind, label, at, projectFingerprint: "fp-1" })

const recordOf = (betId: BetId, kind: AnnotationKind) =>
  Effect.map(Effect.flatMap(AnnotationRecordsRepo, (repo) => repo.find({ betId, kind })), Option.getOrThrow)

describe("AnnotationRecordsRepo", () => {
  layer(
    Layer.mergeAll(AnnotationRecordsRepo.Default, BetsRepo.Default, MetricsRepo.Default, WorkspacesRepo.Default).pipe(
      Layer.provideMerge(TestSqlLive())
    ),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect("each upsert is a new revision that restarts the attempts and widens the search window", () =>
      Effect.gen(function*() {
        const repo = yield* AnnotationRecordsRepo
        const bet = yield* seedBet
        const first = yield* repo.upsert(desired(bet, "shipped", "Shipped v1"), { status: "pending" })
        assert.strictEqual(first.revision, 1)
        yield* repo.countAttempt({ betId: bet.betId, kind: "shipped" }, 1, { projectFingerprint: "fp-1", keysAt: null })
        const earlier = new Date("2026-11-08T00:00:00.000Z")
        const second = yield* repo.upsert(desired(bet, "shipped", "Shipped v2", earlier), {
          status: "skipped",
          reason: "annotations are off"
        })
        assert.deepStrictEqual(
          [second.revision, second.status, second.reason, second.attempts, second.label],
          [2, "skipped", "annotations are off", 0, "Shipped v2"]
        )
        assert.deepStrictEqual(second.searchFrom, earlier)
        assert.deepStrictEqual(second.searchTo, new Date("2026-11-10T12:00:00.000Z"))
        const third = yield* repo.upsert(desired(bet, "shipped", "Shipped v3"), { status: "pending" })
        assert.deepStrictEqual([third.revision, third.reason], [3, null])
      }))

    it.effect("concurrent upserts of one record each get a revision of their own", () =>
      Effect.gen(function*() {
        const repo = yield* AnnotationRecordsRepo
        const bet = yield* seedBet
        const results = yield* Effect.all(
          Array.from(
            { length: 5 },
            (_, n) => repo.upsert(desired(bet, "promoted", `Label ${n}`), { status: "pending" })
          ),
          { concurrency: "unbounded" }
        )
        assert.sameMembers(results.map((record) => record.revision), [1, 2, 3, 4, 5])
        assert.strictEqual((yield* recordOf(bet.betId, "promoted")).revision, 5)
      }))

    it.effect("a push or an ending of an older revision does not overwrite the newer one's status", () =>
      Effect.gen(function*() {
        const repo = yield* AnnotationRecordsRepo
        const bet = yield* seedBet
        const key = { betId: bet.betId, kind: "verdict" as const }
        yield* repo.upsert(desired(bet, "verdict", "Verdict: hit"), { status: "pending" })
        yield* repo.upsert(desired(bet, "verdict", "Verdict: miss"), { status: "pending" })
        yield* repo.markPushed(key, 1, 1001)
        const afterOld = yield* recordOf(bet.betId, "verdict")
        assert.deepStrictEqual(
          [afterOld.status, afterOld.amplitudeAnnotationId, afterOld.pushedRevision],
          ["pending", 1001, 1],
          "the id is kept, the newer revision still to push"
        )
        yield* repo.markEnded(key, 1, "failed", "too late")
        assert.strictEqual((yield* recordOf(bet.betId, "verdict")).status, "pending")
        assert.isTrue(yield* repo.markFailed(key, 2, "Amplitude refused", false))
        assert.isFalse(yield* repo.markFailed(key, 1, "stale", false), "an old revision cannot fail the record")
        yield* repo.markPushed(key, 2, 1001)
        const pushed = yield* recordOf(bet.betId, "verdict")
        assert.deepStrictEqual([pushed.status, pushed.reason, pushed.pushedRevision], ["pushed", null, 2])
        yield* repo.forgetAmplitudeId(key, 999)
        assert.strictEqual((yield* recordOf(bet.betId, "verdict")).amplitudeAnnotationId, 1001, "another id")
        yield* repo.forgetAmplitudeId(key, 1001)
        assert.isNull((yield* recordOf(bet.betId, "verdict")).amplitudeAnnotationId)
      }))

    it.effect("lists a workspace's records newest change first, up to the limit, and only its own", () =>
      Effect.gen(function*() {
        const repo = yield* AnnotationRecordsRepo
        const bet = yield* seedBet
        const other = yield* seedBet
        yield* repo.upsert(desired(bet, "promoted", "P"), { status: "pending" })
        yield* repo.upsert(desired(other, "promoted", "Other"), { status: "pending" })
        yield* repo.upsert(desired(bet, "shipped", "S"), { status: "pending" })
        yield* repo.upsert(desired(bet, "verdict", "V"), { status: "pending" })
        yield* repo.markEnded({ betId: bet.betId, kind: "promoted" }, 1, "skipped", "touched last")
        const listed = yield* repo.forWorkspace(bet.workspaceId, 10)
        assert.deepStrictEqual(listed.map((record) => record.kind), ["promoted", "verdict", "shipped"])
        assert.deepStrictEqual((yield* repo.forWorkspace(bet.workspaceId, 2)).map((record) => record.kind), [
          "promoted",
          "verdict"
        ])
        assert.deepStrictEqual((yield* repo.forBet(bet.betId)).map((record) => record.kind), [
          "promoted",
          "shipped",
          "verdict"
        ])
        assert.deepStrictEqual((yield* repo.forWorkspace(other.workspaceId, 10)).map((record) => record.label), [
          "Other"
        ])
      }))

    it.effect("finds the retryable records of one workspace and project only", () =>
      Effect.gen(function*() {
        const repo = yield* AnnotationRecordsRepo
        const bet = yield* seedBet
        const other = yield* seedBet
        yield* repo.upsert(desired(bet, "promoted", "P"), { status: "skipped", reason: "keys", retryable: true })
        yield* repo.upsert(desired(bet, "shipped", "S"), { status: "skipped", reason: "off" })
        yield* repo.upsert(desired(other, "promoted", "O"), { status: "skipped", reason: "keys", retryable: true })
        const found = yield* repo.lockRetryable(bet.workspaceId, "fp-1")
        assert.deepStrictEqual(found.map((record) => [record.betId, record.kind]), [[bet.betId, "promoted"]])
        assert.deepStrictEqual(yield* repo.lockRetryable(bet.workspaceId, "fp-other"), [])
      }))
  })
})
