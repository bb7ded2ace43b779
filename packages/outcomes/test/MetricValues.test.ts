import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeClient, CallPolicy } from "@findry/amplitude-adapter"
import { AmplitudeEmulator, DEMO_PROJECTS, projectData, type RecordedRequest } from "@findry/amplitude-emulator"
import type { MappingParams } from "@findry/domain"
import { Effect } from "effect"
import { type Measured, measureMapping, projectLookups } from "../src/MetricValues.js"
import { type DayRange, windows } from "../src/Verdicts.js"
import { AmplitudeTestLive, reference, storedConnection } from "./support.js"

const US = DEMO_PROJECTS.us
const SHIP = "2026-10-15"
const TIMEFRAME = 14
const { baseline: BASELINE, observed: OBSERVED } = windows(SHIP, TIMEFRAME)
const US_DATA = projectData(US)
const cohortNamed = (name: string) => US_DATA.cohorts.find((cohort) => cohort.name === name)!.id
const PURCHASERS = cohortNamed("Purchasers")
const REPEAT_BUYERS = cohortNamed("Repeat buyers")
const DAILY_BUYERS = US_DATA.charts.find((chart) => chart.name === "Daily buyers")!.id

const compact = (day: string) => day.replaceAll("-", "")

/** Measures `mapping` on the demo US project and returns the values with the requests it sent. */
const measure = (
  mapping: MappingParams,
  options: { cohortId?: string | null; baseline?: DayRange; observed?: DayRange; earlierSample?: number | null } = {}
) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const project = yield* emulator.project(US.id)
    const client = yield* AmplitudeClient
    const connection = client.connection(yield* storedConnection(project), { policy: CallPolicy.background })
    const before = (yield* emulator.requests()).reduce((max, r) => Math.max(max, r.seq), 0)
    const measured: Measured = yield* measureMapping(connection, yield* projectLookups(connection), {
      mapping,
      baseline: options.baseline ?? BASELINE,
      observed: options.observed ?? OBSERVED,
      cohortId: options.cohortId ?? null,
      earlierSample: Effect.succeed(options.earlierSample ?? null),
      beforeShip: false
    })
    const requests = (yield* emulator.requests({ project: US.id })).filter((r) => r.seq > before)
    return { measured, requests, data: project.data }
  })

const queriesOf = (requests: ReadonlyArray<RecordedRequest>, endpoint: string) =>
  requests.filter((r) => r.endpoint === endpoint).sort((a, b) =>
    String(a.query["start"]).localeCompare(String(b.query["start"])) ||
    String(a.query["m"]).localeCompare(String(b.query["m"]))
  )

const cohortSegment = (cohortId: string) => JSON.stringify([{ prop: "userdata_cohort", op: "is", values: [cohortId] }])

const assertClose = (actual: number | null, expected: number | null, message?: string) => {
  if (expected === null) return assert.isNull(actual, message)
  assert.isNotNull(actual, message)
  assert.closeTo(actual!, expected, 1e-9, message)
}

describe("metric values from Amplitude", () => {
  layer(AmplitudeTestLive, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("event count: m=totals with event-property filters and the cohort as userdata_cohort segment", () =>
      Effect.gen(function*() {
        const { data, measured, requests } = yield* measure(
          {
            kind: "event",
            event: "View Item",
            aggregation: "count",
            filters: [{ property: "category", value: "books" }]
          } as MappingParams,
          { cohortId: PURCHASERS }
        )
        const ref = reference(data)
        const expected = (range: DayRange) =>
          ref.occurrences("View Item", range.start, range.end, {
            cohortId: PURCHASERS,
            filters: [{ property: "category", value: "books" }]
          }).length
        assert.deepStrictEqual(measured.notes, [])
        assert.strictEqual(measured.baseline, expected(BASELINE))
        assert.strictEqual(measured.observed, expected(OBSERVED))
        assert.isAbove(measured.baseline!, 0)

        const sent = queriesOf(requests, "events.segmentation")
        assert.strictEqual(sent.length, 2)
        assert.deepStrictEqual(sent.map((r) => r.query), [
          {
            e: JSON.stringify({
              event_type: "View Item",
              filters: [{ subprop_type: "event", subprop_key: "category", subprop_op: "is", subprop_value: ["books"] }]
            }),
            m: "totals",
            i: "1",
            start: compact(BASELINE.start),
            end: compact(BASELINE.end),
            s: cohortSegment(PURCHASERS)
          },
          {
            e: JSON.stringify({
              event_type: "View Item",
              filters: [{ subprop_type: "event", subprop_key: "category", subprop_op: "is", subprop_value: ["books"] }]
            }),
            m: "totals",
            i: "1",
            start: compact(OBSERVED.start),
            end: compact(OBSERVED.end),
            s: cohortSegment(PURCHASERS)
          }
        ])
        assert.isFalse(requests.some((r) => JSON.stringify(r.query).includes("amp_cohort_")))
      }))

    it.effect("uniques: m=uniques, distinct users over each window", () =>
      Effect.gen(function*() {
        const { data, measured, requests } = yield* measure({
          kind: "event",
          event: "Purchase",
          aggregation: "uniques"
        } as MappingParams)
        const ref = reference(data)
        const expected = (range: DayRange) =>
          new Set(ref.occurrences("Purchase", range.start, range.end).map((o) => o.userId)).size
        assert.strictEqual(measured.baseline, expected(BASELINE))
        assert.strictEqual(measured.observed, expected(OBSERVED))
        const sent = queriesOf(requests, "events.segmentation")
        assert.deepStrictEqual(sent.map((r) => [r.query["m"], r.query["e"], r.query["s"]]), [
          ["uniques", JSON.stringify({ event_type: "Purchase" }), undefined],
          ["uniques", JSON.stringify({ event_type: "Purchase" }), undefined]
        ])
      }))

    it.effect("sum: m=sums with the property as the event's group_by, scoped to the cohort", () =>
      Effect.gen(function*() {
        const { data, measured, requests } = yield* measure(
          { kind: "event", event: "Purchase", aggregation: "sum", property: "revenue" } as MappingParams,
          { cohortId: PURCHASERS }
        )
        const ref = reference(data)
        const expected = (range: DayRange) =>
          ref.sum(ref.numbers(ref.occurrences("Purchase", range.start, range.end, { cohortId: PURCHASERS }), "revenue"))
        assertClose(measured.baseline, expected(BASELINE))
        assertClose(measured.observed, expected(OBSERVED))
        const sent = queriesOf(requests, "events.segmentation")
        assert.deepStrictEqual(sent.map((r) => [r.query["m"], r.query["e"], r.query["s"], r.query["start"]]), [
          [
            "sums",
            JSON.stringify({ event_type: "Purchase", group_by: [{ type: "event", value: "revenue" }] }),
            cohortSegment(PURCHASERS),
            compact(BASELINE.start)
          ],
          [
            "sums",
            JSON.stringify({ event_type: "Purchase", group_by: [{ type: "event", value: "revenue" }] }),
            cohortSegment(PURCHASERS),
            compact(OBSERVED.start)
          ]
        ])
      }))

    it.effect("average: m=value_avg, the property's sum over events carrying it", () =>
      Effect.gen(function*() {
        const { data, measured, requests } = yield* measure({
          kind: "event",
          event: "Purchase",
          aggregation: "average",
          property: "price",
          filters: [{ property: "gp:plan", value: "pro", type: "user" }]
        } as MappingParams)
        const ref = reference(data)
        const pro = new Set(data.users.filter((u) => u.properties["gp:plan"] === "pro").map((u) => u.userId))
        const expected = (range: DayRange) => {
          const values = ref.numbers(
            ref.occurrences("Purchase", range.start, range.end).filter((o) => pro.has(o.userId)),
            "price"
          )
          return values.length === 0 ? null : ref.sum(values) / values.length
        }
        assertClose(measured.baseline, expected(BASELINE))
        assertClose(measured.observed, expected(OBSERVED))
        const sent = queriesOf(requests, "events.segmentation")
        // A user-property filter travels as a segment condition, not inside `e`.
        assert.deepStrictEqual(sent.map((r) => [r.query["m"], r.query["e"], r.query["s"]]), [
          [
            "value_avg",
            JSON.stringify({ event_type: "Purchase", group_by: [{ type: "event", value: "price" }] }),
            JSON.stringify([{ prop: "gp:plan", op: "is", values: ["pro"] }])
          ],
          [
            "value_avg",
            JSON.stringify({ event_type: "Purchase", group_by: [{ type: "event", value: "price" }] }),
            JSON.stringify([{ prop: "gp:plan", op: "is", values: ["pro"] }])
          ]
        ])
      }))

    it.effect("average_per_user: m=sums ÷ m=uniques, the property's total per user who fired the event", () =>
      Effect.gen(function*() {
        const { data, measured, requests } = yield* measure(
          {
            kind: "event",
            event: "Add to Cart",
            aggregation: "average_per_user",
            property: "quantity",
            filters: [{ property: "quantity", value: "2" }]
          } as MappingParams,
          { cohortId: REPEAT_BUYERS }
        )
        const ref = reference(data)
        const expected = (range: DayRange) => {
          const list = ref.occurrences("Add to Cart", range.start, range.end, {
            cohortId: REPEAT_BUYERS,
            filters: [{ property: "quantity", value: "2" }]
          })
          const users = new Set(list.map((o) => o.userId)).size
          return users === 0 ? null : ref.sum(ref.numbers(list, "quantity")) / users
        }
        assertClose(measured.baseline, expected(BASELINE))
        assertClose(measured.observed, expected(OBSERVED))
        const sent = queriesOf(requests, "events.segmentation")
        const filter = [{ subprop_type: "event", subprop_key: "quantity", subprop_op: "is", subprop_value: ["2"] }]
        assert.deepStrictEqual(sent.map((r) => [r.query["start"], r.query["m"], r.query["e"], r.query["s"]]), [
          [
            compact(BASELINE.start),
            "sums",
            JSON.stringify({
              event_type: "Add to Cart",
              filters: filter,
              group_by: [{ type: "event", value: "quantity" }]
            }),
            cohortSegment(REPEAT_BUYERS)
          ],
          [
            compact(BASELINE.start),
            "uniques",
            JSON.stringify({ event_type: "Add to Cart", filters: filter }),
            cohortSegment(REPEAT_BUYERS)
          ],
          [
            compact(OBSERVED.start),
            "sums",
            JSON.stringify({
              event_type: "Add to Cart",
              filters: filter,
              group_by: [{ type: "event", value: "quantity" }]
            }),
            cohortSegment(REPEAT_BUYERS)
          ],
          [
            compact(OBSERVED.start),
            "uniques",
            JSON.stringify({ event_type: "Add to Cart", filters: filter }),
            cohortSegment(REPEAT_BUYERS)
          ]
        ])
      }))

    it.effect("funnel: repeated e in step order, cs in seconds, conversion in percent of entrants", () =>
      Effect.gen(function*() {
        const steps = ["View Item", "Add to Cart", "Purchase"]
        const { data, measured, requests } = yield* measure(
          { kind: "funnel", events: steps, conversionWindowDays: 3 } as MappingParams,
          { cohortId: PURCHASERS }
        )
        const ref = reference(data)
        const scope = ref.members(PURCHASERS)!
        const byUser = steps.map((step) => {
          const map = new Map<string, Array<number>>()
          for (const o of data.events.find((e) => e.name === step)!.occurrences) {
            map.set(o.userId, [...(map.get(o.userId) ?? []), o.time])
          }
          for (const times of map.values()) times.sort((a, b) => a - b)
          return map
        })
        const expected = (range: DayRange) => {
          let entered = 0
          let converted = 0
          const entries = data.events.find((e) => e.name === steps[0])!.occurrences
          for (const userId of new Set(entries.map((o) => o.userId))) {
            if (!scope.has(userId)) continue
            const entry = entries.filter((o) => o.userId === userId).sort((a, b) => a.time - b.time)
              .find((o) => ref.inRange(o.day, range.start, range.end))
            if (entry === undefined) continue
            entered++
            const deadline = entry.time + 3 * 86_400_000
            let last = entry.time
            let reached = 1
            for (let k = 1; k < steps.length; k++) {
              const next = (byUser[k]!.get(userId) ?? []).find((t) => t > last && t <= deadline)
              if (next === undefined) break
              last = next
              reached++
            }
            if (reached === steps.length) converted++
          }
          return entered === 0 ? null : (converted / entered) * 100
        }
        assertClose(measured.baseline, expected(BASELINE))
        assertClose(measured.observed, expected(OBSERVED))
        assert.isAbove(measured.baseline!, 0)
        const sent = queriesOf(requests, "funnels")
        assert.strictEqual(sent.length, 2)
        for (const [request, range] of [[sent[0]!, BASELINE], [sent[1]!, OBSERVED]] as const) {
          assert.deepStrictEqual(request.query, {
            e: steps.map((step) => JSON.stringify({ event_type: step })),
            start: compact(range.start),
            end: compact(range.end),
            cs: String(3 * 86_400),
            s: cohortSegment(PURCHASERS)
          })
        }
      }))

    it.effect("templates: active users (mean daily actives), new users (sum) and average session length", () =>
      Effect.gen(function*() {
        const active = yield* measure({ kind: "template", template: "active_users" } as MappingParams, {
          cohortId: PURCHASERS
        })
        const ref = reference(active.data)
        const scope = ref.members(PURCHASERS)!
        const dailyActive = (day: string) =>
          new Set(
            active.data.events.flatMap((e) => e.occurrences).filter((o) => o.day === day && scope.has(o.userId))
              .map((o) => o.userId)
          ).size
        const meanOf = (values: ReadonlyArray<number>) => values.length === 0 ? null : ref.sum(values) / values.length
        const expectedActive = (range: DayRange) => meanOf(ref.days(range.start, range.end).map(dailyActive))
        assertClose(active.measured.baseline, expectedActive(BASELINE))
        assertClose(active.measured.observed, expectedActive(OBSERVED))
        assert.isAbove(active.measured.baseline!, 0)
        assert.deepStrictEqual(queriesOf(active.requests, "users").map((r) => r.query), [
          {
            m: "active",
            start: compact(BASELINE.start),
            end: compact(BASELINE.end),
            i: "1",
            s: cohortSegment(PURCHASERS)
          },
          {
            m: "active",
            start: compact(OBSERVED.start),
            end: compact(OBSERVED.end),
            i: "1",
            s: cohortSegment(PURCHASERS)
          }
        ])

        const fresh = yield* measure({ kind: "template", template: "new_users" } as MappingParams)
        const expectedNew = (range: DayRange) =>
          fresh.data.users.filter((u) => ref.inRange(u.firstSeen, range.start, range.end)).length
        assert.strictEqual(fresh.measured.baseline, expectedNew(BASELINE))
        assert.strictEqual(fresh.measured.observed, expectedNew(OBSERVED))
        assert.deepStrictEqual(queriesOf(fresh.requests, "users").map((r) => r.query["m"]), ["new", "new"])

        const sessions = yield* measure({ kind: "template", template: "average_session_length" } as MappingParams, {
          cohortId: PURCHASERS
        })
        const expectedLength = (range: DayRange) =>
          meanOf(
            ref.days(range.start, range.end).flatMap((day) => {
              const lengths = sessions.data.sessions.filter((s) => s.day === day).map((s) => s.lengthSeconds)
              return lengths.length === 0 ? [] : [ref.sum(lengths) / lengths.length]
            })
          )
        assertClose(sessions.measured.baseline, expectedLength(BASELINE))
        assertClose(sessions.measured.observed, expectedLength(OBSERVED))
        assert.isAbove(sessions.measured.observed!, 0)
        assert.deepStrictEqual(sessions.measured.notes.map((n) => n.text), [
          "cohort scope not applied: Amplitude's session length endpoint takes no segment"
        ])
        assert.deepStrictEqual(queriesOf(sessions.requests, "sessions.average").map((r) => r.query), [
          { start: compact(BASELINE.start), end: compact(BASELINE.end) },
          { start: compact(OBSERVED.start), end: compact(OBSERVED.end) }
        ])
      }))

    it.effect("saved chart: one read of the chart, the mean of its daily values inside each window", () =>
      Effect.gen(function*() {
        const around = windows("2026-11-15", 7)
        const { data, measured, requests } = yield* measure({ kind: "chart", chartId: DAILY_BUYERS } as MappingParams, {
          baseline: around.baseline,
          observed: around.observed
        })
        const ref = reference(data)
        const chart = data.charts.find((c) => c.id === DAILY_BUYERS)!
        assert.strictEqual(chart.definition.m, "uniques")
        const expected = (range: DayRange) => {
          const daily = ref.days(range.start, range.end).map((day) =>
            new Set(ref.occurrences(chart.definition.e.event_type, day, day).map((o) => o.userId)).size
          )
          return ref.sum(daily) / daily.length
        }
        assertClose(measured.baseline, expected(around.baseline))
        assertClose(measured.observed, expected(around.observed))
        assert.deepStrictEqual(requests.map((r) => r.path), [`/api/3/chart/${DAILY_BUYERS}/query`])
      }))

    it.effect("cohort size: the cohort's size now, against the size recorded on or before the ship date", () =>
      Effect.gen(function*() {
        const { data, measured } = yield* measure({ kind: "cohort_size", cohortId: REPEAT_BUYERS } as MappingParams, {
          earlierSample: 40
        })
        const size = data.cohorts.find((c) => c.id === REPEAT_BUYERS)!.userIds.length
        assert.deepStrictEqual(
          { baseline: measured.baseline, observed: measured.observed, sample: measured.sample },
          { baseline: 40, observed: size, sample: size }
        )
        const first = yield* measure({ kind: "cohort_size", cohortId: REPEAT_BUYERS } as MappingParams)
        assert.isNull(first.measured.baseline)
        assert.include(first.measured.notes[0]!.text, "no baseline")
        assert.isFalse(first.measured.notes[0]!.blocking)
      }))

    it.effect("unknown and hidden events, unknown cohorts: blocking notes and no query", () =>
      Effect.gen(function*() {
        const unknown = yield* measure({
          kind: "funnel",
          events: ["View Item", "Checkout", "Debug Ping"],
          conversionWindowDays: 1
        } as MappingParams)
        assert.deepStrictEqual(unknown.measured, {
          baseline: null,
          observed: null,
          sample: null,
          notes: [
            { text: "event not recognized: Checkout", blocking: true },
            { text: "event not recognized: Debug Ping", blocking: true }
          ]
        })
        assert.deepStrictEqual(unknown.requests.map((r) => r.endpoint), ["events.list"])

        const cohort = yield* measure({ kind: "event", event: "Purchase", aggregation: "count" } as MappingParams, {
          cohortId: "gone1234"
        })
        assert.deepStrictEqual(cohort.measured.notes, [{ text: "cohort not found: gone1234", blocking: true }])
        assert.deepStrictEqual(cohort.requests.map((r) => r.endpoint).sort(), ["cohorts.list", "events.list"])

        const chart = yield* measure({ kind: "chart", chartId: "nochart" } as MappingParams)
        assert.deepStrictEqual(chart.measured.notes, [{ text: "chart not found: nochart", blocking: true }])
      }))
  })
})
