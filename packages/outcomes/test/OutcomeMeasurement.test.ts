import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS, type ProjectData } from "@findry/amplitude-emulator"
import type { BetId, MappingParams, OutcomeRun, Verdict } from "@findry/domain"
import { AnnotationRecordsRepo, BetsRepo, MetricsRepo, OutcomeRunsRepo } from "@findry/persistence"
import { TestSqlLive } from "@findry/persistence/testing"
import { Effect, Layer, Option } from "effect"
import { OutcomeMeasurement } from "../src/OutcomeMeasurement.js"
import { addDays, dayOf, type DayRange, windows } from "../src/Verdicts.js"
import { betIn, type BetSpec, MeasurementTestLive, workspaceOn } from "./fixtures.js"
import { AmplitudeTestLive, reference } from "./support.js"

const TestLive = MeasurementTestLive.pipe(Layer.provideMerge(TestSqlLive()), Layer.provideMerge(AmplitudeTestLive))

const PURCHASE_COUNT = { kind: "event", event: "Purchase", aggregation: "count" } as MappingParams
const TIMEFRAME = 7

const demo = (id: string) => Effect.flatMap(AmplitudeEmulator, (emulator) => emulator.project(id))

/** Purchase count over both windows of a ship date, from the seeded data. */
const purchaseWindows = (data: ProjectData, shipDate: string) => {
  const ref = reference(data)
  const count = (range: DayRange) => ref.occurrences("Purchase", range.start, range.end).length
  const { baseline, observed } = windows(shipDate, TIMEFRAME)
  const b = count(baseline)
  const o = count(observed)
  return { shipDate, baseline: b, observed: o, abs: o - b, pct: b === 0 ? null : ((o - b) / b) * 100 }
}

/** The first ship dates where Purchase count rose, and fell, by more than 10 %. */
const changes = (data: ProjectData) => {
  const all = Array.from({ length: 50 }, (_, i) => purchaseWindows(data, addDays("2026-09-15", i)))
  return {
    rise: all.find((w) => w.pct !== null && w.pct > 10)!,
    fall: all.find((w) => w.pct !== null && w.pct < -10)!
  }
}

const verdictLabel = (betId: BetId) =>
  Effect.flatMap(AnnotationRecordsRepo, (records) => records.find({ betId, kind: "verdict" })).pipe(
    Effect.map(Option.map((record) => ({ label: record.label, revision: record.revision })))
  )

const outcomeOf = (betId: BetId) => Effect.flatMap(BetsRepo, (bets) => bets.findOutcome(betId))

describe("outcome measurement", () => {
  layer(TestLive, { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("Pull metrics: baseline, observed and variance over the windows around the ship date", () =>
      Effect.gen(function*() {
        const project = yield* demo(DEMO_PROJECTS.us.id)
        const { rise } = changes(project.data)
        const where = yield* workspaceOn(project)
        const bet = yield* betIn(where, {
          mapping: PURCHASE_COUNT,
          direction: "increase",
          magnitude: 1,
          magnitudeUnit: "percent",
          timeframeDays: TIMEFRAME,
          shipDate: rise.shipDate
        })
        const run: OutcomeRun = yield* Effect.flatMap(OutcomeMeasurement, (m) => m.pull(where.workspaceId, bet.betId))
        assert.strictEqual(run.baseline, rise.baseline)
        assert.strictEqual(run.observed, rise.observed)
        assert.strictEqual(run.varianceAbs, rise.abs)
        assert.closeTo(run.variancePct!, rise.pct!, 1e-9)
        assert.strictEqual(run.verdict, "hit")
        assert.deepStrictEqual(run.warnings, [])

        const stored = Option.getOrThrow(yield* Effect.flatMap(OutcomeRunsRepo, (runs) => runs.latest(bet.betId)))
        const { baseline, observed } = windows(rise.shipDate, TIMEFRAME)
        assert.deepInclude(stored, {
          id: run.id,
          trigger: "pull",
          baselineStart: baseline.start,
          baselineEnd: baseline.end,
          observedStart: observed.start,
          observedEnd: observed.end
        })
      }))

    it.effect("verdicts: hit, short of the magnitude, the other way — both directions, percent and absolute", () =>
      Effect.gen(function*() {
        const project = yield* demo(DEMO_PROJECTS.us.id)
        const { fall, rise } = changes(project.data)
        const where = yield* workspaceOn(project)
        const cases: ReadonlyArray<[string, Omit<BetSpec, "mapping" | "timeframeDays">, Verdict]> = [
          ["rise, +percent reached", {
            direction: "increase",
            magnitude: rise.pct! / 2,
            magnitudeUnit: "percent",
            shipDate: rise.shipDate
          }, "hit"],
          ["rise, +percent short", {
            direction: "increase",
            magnitude: rise.pct! * 2,
            magnitudeUnit: "percent",
            shipDate: rise.shipDate
          }, "inconclusive"],
          ["rise, predicted fall", {
            direction: "decrease",
            magnitude: 1,
            magnitudeUnit: "percent",
            shipDate: rise.shipDate
          }, "miss"],
          ["rise, +absolute exactly reached", {
            direction: "increase",
            magnitude: rise.abs,
            magnitudeUnit: "absolute",
            shipDate: rise.shipDate
          }, "hit"],
          ["fall, -absolute reached", {
            direction: "decrease",
            magnitude: -fall.abs / 2,
            magnitudeUnit: "absolute",
            shipDate: fall.shipDate
          }, "hit"],
          ["fall, -absolute short", {
            direction: "decrease",
            magnitude: -fall.abs * 2,
            magnitudeUnit: "absolute",
            shipDate: fall.shipDate
          }, "inconclusive"],
          ["fall, -percent reached", {
            direction: "decrease",
            magnitude: -fall.pct! - 0.5,
            magnitudeUnit: "percent",
            shipDate: fall.shipDate
          }, "hit"],
          ["fall, predicted rise", {
            direction: "increase",
            magnitude: 1,
            magnitudeUnit: "absolute",
            shipDate: fall.shipDate
          }, "miss"]
        ]
        for (const [name, spec, expected] of cases) {
          const bet = yield* betIn(where, { ...spec, mapping: PURCHASE_COUNT, timeframeDays: TIMEFRAME, title: name })
          const run = yield* Effect.flatMap(OutcomeMeasurement, (m) => m.pull(where.workspaceId, bet.betId))
          assert.strictEqual(run.verdict, expected, name)
          const outcome = Option.getOrThrow(yield* outcomeOf(bet.betId))
          assert.deepInclude(
            { verdict: outcome.verdict, source: outcome.verdictSource },
            { verdict: expected, source: "sweep" },
            name
          )
          assert.deepStrictEqual(
            yield* verdictLabel(bet.betId),
            Option.some({ label: `● Outcome ${expected}: ${name}`, revision: 1 }),
            name
          )
        }
      }))

    it.effect("insufficient data is inconclusive, with the reason among the warnings", () =>
      Effect.gen(function*() {
        const project = yield* demo(DEMO_PROJECTS.us.id)
        const where = yield* workspaceOn(project)
        const bet = yield* betIn(where, {
          title: "Nothing to average",
          mapping: {
            kind: "event",
            event: "Purchase",
            aggregation: "average",
            property: "price",
            filters: [{ property: "price", value: "-1" }]
          } as MappingParams,
          direction: "increase",
          magnitude: 5,
          magnitudeUnit: "percent",
          timeframeDays: TIMEFRAME,
          shipDate: "2026-10-15"
        })
        const run = yield* Effect.flatMap(OutcomeMeasurement, (m) => m.pull(where.workspaceId, bet.betId))
        assert.deepInclude(run, { baseline: null, observed: null, varianceAbs: null, variancePct: null })
        assert.strictEqual(run.verdict, "inconclusive")
        assert.deepStrictEqual(run.warnings, ["insufficient data: no baseline value"])
        assert.deepStrictEqual(
          yield* verdictLabel(bet.betId),
          Option.some({ label: "● Outcome inconclusive: Nothing to average", revision: 1 })
        )
      }))

    it.effect("a PM override survives later measurements; a changed verdict updates the same annotation", () =>
      Effect.gen(function*() {
        const project = yield* demo(DEMO_PROJECTS.us.id)
        const { rise } = changes(project.data)
        const where = yield* workspaceOn(project)
        const bet = yield* betIn(where, {
          title: "Checkout revamp",
          mapping: PURCHASE_COUNT,
          direction: "increase",
          magnitude: rise.pct! * 3,
          magnitudeUnit: "percent",
          timeframeDays: TIMEFRAME,
          shipDate: rise.shipDate
        })
        const pull = Effect.flatMap(OutcomeMeasurement, (m) => m.pull(where.workspaceId, bet.betId))
        assert.strictEqual((yield* pull).verdict, "inconclusive")
        assert.deepStrictEqual(
          yield* verdictLabel(bet.betId),
          Option.some({ label: "● Outcome inconclusive: Checkout revamp", revision: 1 })
        )

        // The prediction is edited to a smaller magnitude: the next pull decides `hit` and re-labels the annotation.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE bets SET magnitude = ${rise.pct! / 3} WHERE id = ${bet.betId}`
        assert.strictEqual((yield* pull).verdict, "hit")
        assert.deepStrictEqual(
          yield* verdictLabel(bet.betId),
          Option.some({ label: "● Outcome hit: Checkout revamp", revision: 2 })
        )
        // The same verdict again changes nothing.
        yield* pull
        assert.strictEqual(Option.getOrThrow(yield* verdictLabel(bet.betId)).revision, 2)

        // A PM overrides to `miss` (as the override endpoint does); measurements keep reporting, never revert it.
        yield* Effect.flatMap(BetsRepo, (bets) => bets.setVerdict(bet.betId, "miss", "override", null))
        const after = yield* pull
        assert.strictEqual(after.verdict, "hit")
        const outcome = Option.getOrThrow(yield* outcomeOf(bet.betId))
        assert.deepInclude({ verdict: outcome.verdict, source: outcome.verdictSource }, {
          verdict: "miss",
          source: "override"
        })
        assert.strictEqual(Option.getOrThrow(yield* verdictLabel(bet.betId)).revision, 2)
      }))

    it.effect("degrades to warnings and null values: no mapping, not connected, unknown event, missing cohort", () =>
      Effect.gen(function*() {
        const project = yield* demo(DEMO_PROJECTS.us.id)
        const connected = yield* workspaceOn(project)
        const offline = yield* workspaceOn(null)
        const base = {
          direction: "increase",
          magnitude: 5,
          magnitudeUnit: "percent",
          timeframeDays: TIMEFRAME,
          shipDate: "2026-10-15"
        } as const
        const pull = (bet: { workspaceId: typeof connected.workspaceId; betId: BetId }) =>
          Effect.flatMap(OutcomeMeasurement, (m) => m.pull(bet.workspaceId, bet.betId))

        const unmapped = yield* betIn(connected, { ...base, mapping: null })
        const notConnected = yield* betIn(offline, { ...base, mapping: PURCHASE_COUNT })
        const unknown = yield* betIn(connected, {
          ...base,
          mapping: { kind: "event", event: "Checkout Completed", aggregation: "uniques" } as MappingParams
        })
        const cohortGone = yield* betIn(connected, { ...base, mapping: PURCHASE_COUNT, cohortId: "deleted0" })

        const warnings = [
          yield* pull(unmapped),
          yield* pull(notConnected),
          yield* pull(unknown),
          yield* pull(cohortGone)
        ].map((run) => {
          assert.deepInclude(run, { baseline: null, observed: null, verdict: null })
          return run.warnings
        })
        assert.deepStrictEqual(warnings, [
          [`no Amplitude mapping for metric "${unmapped.metricName}": map the metric to measure it`],
          ["Amplitude not connected"],
          ["event not recognized: Checkout Completed"],
          ["cohort not found: deleted0"]
        ])
        for (const bet of [unmapped, notConnected, unknown, cohortGone]) {
          assert.strictEqual(Option.getOrThrow(yield* outcomeOf(bet.betId)).verdict, null)
        }
      }))

    it.effect("the sweep measures every bet due, retries blocked ones later and leaves open windows without verdict", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const starter = yield* demo(DEMO_PROJECTS.starter.id)
        const where = yield* workspaceOn(starter)
        const today = dayOf(Date.now())
        const closed = yield* betIn(where, {
          title: "Closed window",
          mapping: PURCHASE_COUNT,
          direction: "increase",
          magnitude: 1,
          magnitudeUnit: "absolute",
          timeframeDays: TIMEFRAME,
          shipDate: "2026-10-20"
        })
        const open = yield* betIn(where, {
          title: "Open window",
          mapping: PURCHASE_COUNT,
          direction: "increase",
          magnitude: 1,
          magnitudeUnit: "absolute",
          timeframeDays: 14,
          shipDate: addDays(today, -3)
        })
        const sweep = Effect.flatMap(OutcomeMeasurement, (m) => m.sweep())
        const latest = (betId: BetId) =>
          Effect.flatMap(OutcomeRunsRepo, (runs) => runs.latest(betId)).pipe(Effect.map(Option.getOrThrow))

        // Amplitude rate-limits every query of the project for now (a Retry-After the sweep does not wait for).
        yield* emulator.injectFault({
          kind: "status",
          status: 429,
          retryAfterSeconds: 900,
          project: starter.id,
          endpoint: "events.segmentation",
          times: 100
        })
        yield* sweep
        const limited = yield* latest(closed.betId)
        assert.deepInclude(limited, { trigger: "sweep", verdict: null, baseline: null, observed: null })
        assert.deepStrictEqual(limited.warnings, ["Amplitude rate limit reached (429): retry in 900 seconds"])
        assert.strictEqual(Option.getOrThrow(yield* outcomeOf(closed.betId)).verdict, null)

        yield* emulator.clearFaults
        yield* sweep
        const decided = yield* latest(closed.betId)
        assert.isNotNull(decided.verdict)
        assert.deepStrictEqual(decided.warnings.filter((w) => !w.startsWith("insufficient")), [])
        assert.strictEqual(Option.getOrThrow(yield* outcomeOf(closed.betId)).verdict, decided.verdict)
        assert.strictEqual(
          Option.getOrThrow(yield* verdictLabel(closed.betId)).label,
          `● Outcome ${decided.verdict}: Closed window`
        )

        const measuring = yield* latest(open.betId)
        assert.strictEqual(measuring.verdict, null)
        assert.strictEqual(measuring.observedEnd, addDays(today, -1))
        assert.include(measuring.warnings.join("\n"), `measurement window open until ${addDays(today, 10)}`)
        assert.include(measuring.warnings.join("\n"), "observed covers 3 of 14 days")
        assert.strictEqual(Option.getOrThrow(yield* outcomeOf(open.betId)).verdict, null)

        // Decided bets leave the sweep; the open one is not measured again before it is stale.
        const runsBefore = yield* countRuns([closed.betId, open.betId])
        yield* sweep
        assert.strictEqual(yield* countRuns([closed.betId, open.betId]), runsBefore)
      }))

    it.effect("the sweep keeps within 5 concurrent requests per Amplitude project across its workspaces", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const shared = yield* emulator.createProject({ id: "shared-limits", data: { users: 40, experiments: 1 } })
        const one = yield* workspaceOn(shared)
        const two = yield* workspaceOn(shared)
        const bets = yield* Effect.forEach(
          Array.from({ length: 12 }, (_, i) => i),
          (i) =>
            betIn(i % 2 === 0 ? one : two, {
              mapping: i % 3 === 0
                ? {
                  kind: "event",
                  event: "Purchase",
                  aggregation: "average_per_user",
                  property: "revenue"
                } as MappingParams
                : PURCHASE_COUNT,
              direction: "increase",
              magnitude: 1,
              magnitudeUnit: "absolute",
              timeframeDays: TIMEFRAME,
              shipDate: "2026-10-15"
            })
        )
        yield* emulator.injectFault({ kind: "latency", ms: 100, project: shared.id })
        const report = yield* Effect.flatMap(OutcomeMeasurement, (m) => m.sweep()).pipe(
          Effect.ensuring(emulator.clearFaults)
        )
        assert.strictEqual(report.failed, 0)
        const requests = yield* emulator.requests({ project: shared.id })
        assert.isAbove(requests.length, 24)
        assert.isAtMost(yield* emulator.maxConcurrency(shared.id), 5)
        assert.isAtLeast(yield* emulator.maxConcurrency(shared.id), 2)
        assert.isFalse(requests.some((r) => r.status === 429))
        for (const bet of bets) assert.isNotNull(Option.getOrThrow(yield* outcomeOf(bet.betId)).verdict)
      }))

    it.effect("the mapping saved again after a reconnect to another project is measured again", () =>
      Effect.gen(function*() {
        const project = yield* demo(DEMO_PROJECTS.us.id)
        const where = yield* workspaceOn(project)
        const bet = yield* betIn(where, {
          mapping: PURCHASE_COUNT,
          direction: "increase",
          magnitude: 1,
          magnitudeUnit: "absolute",
          timeframeDays: TIMEFRAME,
          shipDate: "2026-10-15"
        })
        const metrics = yield* MetricsRepo
        yield* metrics.flagForReview(where.workspaceId, "amplitude")
        const pull = Effect.flatMap(OutcomeMeasurement, (m) => m.pull(where.workspaceId, bet.betId))
        const flagged = yield* pull
        assert.strictEqual(flagged.verdict, null)
        assert.isNotNull(flagged.baseline)
        assert.include(flagged.warnings[0]!, "mapping needs review")
        yield* metrics.saveMapping(where.workspaceId, bet.metricId, "amplitude", PURCHASE_COUNT)
        const confirmed = yield* pull
        assert.deepStrictEqual(confirmed.warnings, [])
        assert.isNotNull(confirmed.verdict)
      }))
  })
})

const countRuns = (betIds: ReadonlyArray<BetId>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM outcome_runs WHERE ${
      sql.in("bet_id", betIds)
    }`
    return rows[0]!.n
  }).pipe(Effect.orDie)
