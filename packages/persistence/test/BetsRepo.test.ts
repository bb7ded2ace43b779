import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { BetsRepo } from "../src/BetsRepo.js"
import { MetricsRepo } from "../src/MetricsRepo.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { seedBet, seedWorkspace, unknownBet } from "./fixtures.js"

describe("BetsRepo", () => {
  layer(
    Layer.mergeAll(BetsRepo.Default, MetricsRepo.Default, WorkspacesRepo.Default).pipe(
      Layer.provideMerge(TestSqlLive())
    ),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect("projects and metrics belong to one workspace", () =>
      Effect.gen(function*() {
        const bets = yield* BetsRepo
        const a = yield* seedBet
        const b = yield* seedWorkspace
        assert.isTrue(yield* bets.projectInWorkspace(a.workspaceId, a.projectId))
        assert.isFalse(yield* bets.projectInWorkspace(b.workspaceId, a.projectId))
        assert.isTrue(yield* bets.metricInWorkspace(a.workspaceId, a.metricId))
        assert.isFalse(yield* bets.metricInWorkspace(b.workspaceId, a.metricId))
      }))

    it.effect("another workspace can neither read, change nor ship a bet", () =>
      Effect.gen(function*() {
        const bets = yield* BetsRepo
        const a = yield* seedBet
        const b = yield* seedWorkspace
        assert.isTrue(Option.isNone(yield* bets.find(b.workspaceId, a.betId)))
        assert.isTrue(Option.isNone(yield* bets.update(b.workspaceId, a.betId, { title: "Hijacked" })))
        assert.isTrue(Option.isNone(yield* bets.ship(b.workspaceId, a.betId, new Date())))
        assert.isTrue(Option.isNone(yield* bets.find(a.workspaceId, unknownBet())))
        const bet = Option.getOrThrow(yield* bets.find(a.workspaceId, a.betId))
        assert.strictEqual(bet.title, "Shorter onboarding")
        assert.strictEqual(bet.status, "promoted")
        assert.isNull(bet.shippedAt)
      }))

    it.effect("updates the title alone or the whole impact, and ships", () =>
      Effect.gen(function*() {
        const bets = yield* BetsRepo
        const a = yield* seedBet
        const titled = Option.getOrThrow(yield* bets.update(a.workspaceId, a.betId, { title: "Two-step onboarding" }))
        assert.strictEqual(titled.title, "Two-step onboarding")
        assert.strictEqual(titled.magnitude, 5, "impact kept")
        const impact = Option.getOrThrow(
          yield* bets.update(a.workspaceId, a.betId, {
            impact: {
              metricId: a.metricId,
              direction: "decrease",
              magnitude: 2.5,
              magnitudeUnit: "absolute",
              timeframeDays: 30,
              cohortId: "cohort-1"
            }
          })
        )
        assert.strictEqual(impact.title, "Two-step onboarding", "title kept")
        assert.deepStrictEqual(
          [impact.direction, impact.magnitude, impact.magnitudeUnit, impact.timeframeDays, impact.cohortId],
          ["decrease", 2.5, "absolute", 30, "cohort-1"]
        )
        const at = new Date("2026-11-02T10:00:00.000Z")
        const shipped = Option.getOrThrow(yield* bets.ship(a.workspaceId, a.betId, at))
        assert.strictEqual(shipped.status, "shipped")
        assert.deepStrictEqual(shipped.shippedAt, at)
      }))

    it.effect("keeps one outcome per bet; a verdict without a new measurement keeps the measured time", () =>
      Effect.gen(function*() {
        const bets = yield* BetsRepo
        const a = yield* seedBet
        const other = yield* seedBet
        assert.isTrue(Option.isNone(yield* bets.findOutcome(a.betId)))
        assert.isTrue(Option.isNone(yield* bets.setVerdict(a.betId, "hit", "override", null)), "no outcome yet")
        yield* bets.saveOutcome(a.workspaceId, a.betId, { shipDate: "2026-11-01", whatShipped: "v1" })
        yield* bets.saveOutcome(other.workspaceId, other.betId, { shipDate: "2026-10-01", whatShipped: "other" })
        const saved = yield* bets.saveOutcome(a.workspaceId, a.betId, { shipDate: "2026-11-03", whatShipped: "v2" })
        assert.deepStrictEqual([saved.shipDate, saved.whatShipped, saved.verdict], ["2026-11-03", "v2", null])
        const measuredAt = new Date("2026-11-20T00:00:00.000Z")
        yield* bets.setVerdict(a.betId, "miss", "sweep", measuredAt)
        const overridden = Option.getOrThrow(yield* bets.setVerdict(a.betId, "hit", "override", null))
        assert.deepStrictEqual([overridden.verdict, overridden.verdictSource], ["hit", "override"])
        assert.deepStrictEqual(overridden.verdictAt, measuredAt)
        const untouched = Option.getOrThrow(yield* bets.findOutcome(other.betId))
        assert.deepStrictEqual([untouched.shipDate, untouched.whatShipped, untouched.verdict], [
          "2026-10-01",
          "other",
          null
        ])
      }))
  })
})
