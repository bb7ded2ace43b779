import { assert, describe, layer } from "@effect/vitest"
import { OutcomeRunId, type Verdict, type WorkspaceId } from "@findry/domain"
import { Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { BetsRepo } from "../src/BetsRepo.js"
import { MetricsRepo } from "../src/MetricsRepo.js"
import { type NewOutcomeRun, OutcomeRunsRepo } from "../src/OutcomeRunsRepo.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { seedBet, seedWorkspace } from "./fixtures.js"

const run = (
  bet: { readonly workspaceId: WorkspaceId; readonly betId: string },
  measuredAt: string,
  fields: Partial<NewOutcomeRun> = {}
): NewOutcomeRun => ({
  id: OutcomeRunId.make(randomUUID()),
  betId: bet.betId,
  workspaceId: bet.workspaceId,
  mappingId: null,
  trigger: "sweep",
  measuredAt: new Date(measuredAt),
  baselineStart: null,
  baselineEnd: null,
  observedStart: null,
  observedEnd: null,
  baseline: null,
  observed: null,
  varianceAbs: null,
  variancePct: null,
  sample: null,
  verdict: null,
  warnings: [],
  ...fields
})

/** A bet shipped on `shipDate` with a 14-day window. */
const shippedBet = (shipDate: string, verdict?: Verdict) =>
  Effect.gen(function*() {
    const bet = yield* seedBet
    const bets = yield* BetsRepo
    yield* bets.saveOutcome(bet.workspaceId, bet.betId, { shipDate, whatShipped: "a change" })
    if (verdict !== undefined) yield* bets.setVerdict(bet.betId, verdict, "override", null)
    return bet
  })

describe("OutcomeRunsRepo", () => {
  layer(
    Layer.mergeAll(OutcomeRunsRepo.Default, BetsRepo.Default, MetricsRepo.Default, WorkspacesRepo.Default).pipe(
      Layer.provideMerge(TestSqlLive())
    ),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect("reads a bet's subject with its mapping only within its workspace", () =>
      Effect.gen(function*() {
        const runs = yield* OutcomeRunsRepo
        const bet = yield* shippedBet("2026-11-01")
        const other = yield* seedWorkspace
        yield* (yield* MetricsRepo).saveMapping(bet.workspaceId, bet.metricId, "amplitude", {
          kind: "template",
          template: "active_users"
        })
        const subject = Option.getOrThrow(yield* runs.subject(bet.workspaceId, bet.betId, "amplitude"))
        assert.deepStrictEqual([subject.shipDate, subject.mapping?.mapping.kind], ["2026-11-01", "template"])
        assert.isNull(Option.getOrThrow(yield* runs.subject(bet.workspaceId, bet.betId, "other")).mapping)
        assert.isTrue(Option.isNone(yield* runs.subject(other.workspaceId, bet.betId, "amplitude")))
      }))

    it.effect("the latest run is the newest measurement, per bet", () =>
      Effect.gen(function*() {
        const runs = yield* OutcomeRunsRepo
        const a = yield* shippedBet("2026-11-01")
        const b = yield* shippedBet("2026-11-01")
        yield* runs.insert(run(a, "2026-11-05T00:00:00Z", { sample: 10 }))
        yield* runs.insert(run(a, "2026-11-09T00:00:00Z", { sample: 30, verdict: "hit" }))
        yield* runs.insert(run(a, "2026-11-07T00:00:00Z", { sample: 20 }))
        yield* runs.insert(run(b, "2026-11-06T00:00:00Z", { sample: 99 }))
        assert.strictEqual(Option.getOrThrow(yield* runs.latest(a.betId)).sample, 30)
        const latest = yield* runs.latestOf([a.betId, b.betId])
        assert.deepStrictEqual([latest.get(a.betId)?.sample, latest.get(b.betId)?.sample], [30, 99])
        assert.strictEqual(yield* runs.sampleOnOrBefore(a.betId, "2026-11-08"), 20)
        assert.strictEqual(yield* runs.sampleOnOrBefore(a.betId, "2026-11-05"), 10)
        assert.isNull(yield* runs.sampleOnOrBefore(a.betId, "2026-11-04"))
      }))

    it.effect("due: closed windows and stale measurements of unjudged bets, oldest ship date first, up to the limit", () =>
      Effect.gen(function*() {
        const runs = yield* OutcomeRunsRepo
        // Ship dates far in the past, so that these bets come first whatever other tests left behind.
        const closed: Array<string> = []
        for (const day of ["12", "03", "09", "05", "07"]) closed.push((yield* shippedBet(`2001-01-${day}`)).betId)
        const judged = yield* shippedBet("2001-01-01", "miss")
        const fresh = yield* shippedBet("2001-01-20")
        yield* runs.insert(run(fresh, "2001-01-25T12:00:00Z"))
        const today = "2001-01-26"
        const options = { today, staleBefore: new Date("2001-01-25T00:00:00Z"), limit: 1000 }
        const ids = (yield* runs.due(options)).map((bet) => bet.betId)
        const byShipDate = [closed[1], closed[3], closed[4], closed[2], closed[0]]
        assert.deepStrictEqual(ids.slice(0, 5), byShipDate)
        assert.notInclude(ids, judged.betId)
        assert.notInclude(ids, fresh.betId, "its window is open and its run recent")
        assert.deepStrictEqual(
          (yield* runs.due({ ...options, limit: 2 })).map((bet) => bet.betId),
          byShipDate.slice(0, 2)
        )
        const stale = { ...options, staleBefore: new Date("2001-01-26T00:00:00Z") }
        assert.include((yield* runs.due(stale)).map((bet) => bet.betId), fresh.betId)
      }))

    it.effect("the sweep's verdict never replaces a PM's override, nor rewrites the same verdict", () =>
      Effect.gen(function*() {
        const runs = yield* OutcomeRunsRepo
        const bets = yield* BetsRepo
        const overridden = yield* shippedBet("2026-11-01", "hit")
        const measured = yield* shippedBet("2026-11-01")
        const at = new Date("2026-11-20T00:00:00Z")
        assert.isFalse(yield* runs.assignVerdict(overridden.betId, "miss", at))
        assert.strictEqual(Option.getOrThrow(yield* bets.findOutcome(overridden.betId)).verdict, "hit")
        assert.isTrue(yield* runs.assignVerdict(measured.betId, "miss", at))
        assert.isFalse(yield* runs.assignVerdict(measured.betId, "miss", new Date()))
        const outcome = Option.getOrThrow(yield* bets.findOutcome(measured.betId))
        assert.deepStrictEqual([outcome.verdict, outcome.verdictSource, outcome.verdictAt], ["miss", "sweep", at])
      }))

    it.effect("a batch: subjects of many bets in one read, runs in one insert, verdicts set once where they change", () =>
      Effect.gen(function*() {
        const runs = yield* OutcomeRunsRepo
        const bets = yield* BetsRepo
        const [a, b, overridden] = [
          yield* shippedBet("2026-10-01"),
          yield* shippedBet("2026-10-02"),
          yield* shippedBet("2026-10-03", "hit")
        ]
        const elsewhere = yield* seedWorkspace
        const subjects = yield* runs.subjectsOf(
          [a, b, overridden, { workspaceId: elsewhere.workspaceId, betId: a.betId }],
          "amplitude"
        )
        assert.deepStrictEqual(
          [...subjects.keys()].sort(),
          [a.betId, b.betId, overridden.betId].sort(),
          "a bet asked for in another workspace is not found"
        )
        assert.deepStrictEqual(
          [subjects.get(a.betId)!.shipDate, subjects.get(b.betId)!.shipDate],
          ["2026-10-01", "2026-10-02"]
        )
        assert.strictEqual((yield* runs.subjectsOf([], "amplitude")).size, 0)
        const at = new Date("2026-11-20T00:00:00Z")
        yield* runs.insertAll([
          run(a, at.toISOString(), { verdict: "hit", warnings: ["one", "two"], variancePct: 12.5 }),
          run(b, at.toISOString(), { verdict: "miss" })
        ])
        const stored = yield* runs.latestOf([a.betId, b.betId])
        assert.deepStrictEqual(
          [stored.get(a.betId)?.warnings, stored.get(a.betId)?.variancePct, stored.get(b.betId)?.verdict],
          [["one", "two"], 12.5, "miss"]
        )
        const changed = yield* runs.assignVerdicts([
          { betId: a.betId, verdict: "hit", measuredAt: at },
          { betId: b.betId, verdict: "miss", measuredAt: at },
          { betId: overridden.betId, verdict: "miss", measuredAt: at }
        ])
        assert.deepStrictEqual([...changed].sort(), [a.betId, b.betId].sort(), "the override stays")
        assert.strictEqual(Option.getOrThrow(yield* bets.findOutcome(overridden.betId)).verdict, "hit")
        const again = yield* runs.assignVerdicts([
          { betId: a.betId, verdict: "hit", measuredAt: new Date() },
          { betId: b.betId, verdict: "inconclusive", measuredAt: at }
        ])
        assert.deepStrictEqual([...again], [b.betId], "the same verdict is not written again")
        assert.strictEqual((yield* runs.assignVerdicts([])).size, 0)
      }))
  })
})
