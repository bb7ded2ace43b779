import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator, DEMO_PROJECTS, type Occurrence, type Project } from "../src/index.js"
import { basicFor, call, qs } from "./helpers.js"

const us = DEMO_PROJECTS.us

const compact = (day: string) => day.replaceAll("-", "")

const lastDays = (project: Project, n: number) => project.data.days.slice(-n)

const occurrencesOf = (project: Project, name: string, days: ReadonlyArray<string>) =>
  project.data.events.find((e) => e.name === name)!.occurrences.filter((o) => days.includes(o.day))

const distinctUsers = (occurrences: ReadonlyArray<Occurrence>) => new Set(occurrences.map((o) => o.userId)).size

const segmentation = (params: Record<string, string | ReadonlyArray<string>>) =>
  Effect.gen(function*() {
    const { urls } = yield* AmplitudeEmulator
    return yield* call(`${urls.us}/api/2/events/segmentation?${qs(params)}`, { headers: basicFor(us) })
  })

const range = (days: ReadonlyArray<string>) => ({ start: compact(days[0]!), end: compact(days[days.length - 1]!) })

const DIAGNOSTIC_KEYS = [
  "timeComputed",
  "wasCached",
  "cacheFreshness",
  "novaCost",
  "backend",
  "queryIds",
  "perQueryMetadata"
]

layer(AmplitudeEmulator.layer())("GET /api/2/events/segmentation", (it) => {
  it.effect("uniques (default) and totals per day, collapsed over the range, with diagnostic keys", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const days = lastDays(project, 3)
      const e = JSON.stringify({ event_type: "Purchase" })
      const perDay = days.map((day) => occurrencesOf(project, "Purchase", [day]))

      const uniques = yield* segmentation({ e, ...range(days) })
      assert.strictEqual(uniques.status, 200)
      assert.deepStrictEqual(uniques.body.data, {
        series: [perDay.map(distinctUsers)],
        seriesLabels: [0],
        seriesCollapsed: [[{ setId: "", value: distinctUsers(occurrencesOf(project, "Purchase", days)) }]],
        xValues: days
      })
      for (const key of DIAGNOSTIC_KEYS) assert.property(uniques.body, key)
      assert.strictEqual(uniques.body.perQueryMetadata[0].queryType, "MULTI_SEGMENTATION")
      assert.strictEqual(uniques.body.novaCost, 3)

      const totals = yield* segmentation({ e, m: "totals", ...range(days) })
      const counts = perDay.map((list) => list.length)
      assert.deepStrictEqual(totals.body.data.series, [counts])
      assert.deepStrictEqual(totals.body.data.seriesCollapsed, [[{ setId: "", value: counts.reduce((a, b) => a + b) }]])
    }))

  it.effect("sums and value_avg take the numeric property from e.group_by; average and pct_dau", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const days = lastDays(project, 5)
      const e = JSON.stringify({ event_type: "Purchase", group_by: [{ type: "event", value: "revenue" }] })
      const revenue = (list: ReadonlyArray<Occurrence>) =>
        list.reduce((sum, o) => sum + Number(o.properties["revenue"]), 0)
      const perDay = days.map((day) => occurrencesOf(project, "Purchase", [day]))
      const all = occurrencesOf(project, "Purchase", days)

      const sums = yield* segmentation({ e, m: "sums", ...range(days) })
      assert.deepStrictEqual(sums.body.data.series, [perDay.map(revenue)])
      assert.deepStrictEqual(sums.body.data.seriesLabels, [0])
      assert.strictEqual(sums.body.data.seriesCollapsed[0][0].value, revenue(all))

      const avg = yield* segmentation({ e, m: "value_avg", ...range(days) })
      assert.deepStrictEqual(avg.body.data.series, [
        perDay.map((list) => (list.length === 0 ? 0 : revenue(list) / list.length))
      ])
      assert.strictEqual(avg.body.data.seriesCollapsed[0][0].value, revenue(all) / all.length)

      const plain = JSON.stringify({ event_type: "Purchase" })
      const average = yield* segmentation({ e: plain, m: "average", ...range(days) })
      assert.deepStrictEqual(
        average.body.data.series,
        [perDay.map((list) => (list.length === 0 ? 0 : list.length / distinctUsers(list)))]
      )

      const pct = yield* segmentation({ e: plain, m: "pct_dau", ...range(days) })
      const active = (ds: ReadonlyArray<string>) =>
        new Set(
          project.data.events.flatMap((ev) => ev.occurrences.filter((o) => ds.includes(o.day)).map((o) => o.userId))
        )
          .size
      assert.deepStrictEqual(pct.body.data.series, [perDay.map((list, i) => distinctUsers(list) / active([days[i]!]))])
      assert.strictEqual(pct.body.data.seriesCollapsed[0][0].value, distinctUsers(all) / active(days))
    }))

  it.effect("event filters: is / is not partition the events; greater and user-property filters", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const days = lastDays(project, 7)
      const viewItems = occurrencesOf(project, "View Item", days)
      const total = (filters: ReadonlyArray<object>) =>
        segmentation({ e: JSON.stringify({ event_type: "View Item", filters }), m: "totals", ...range(days) }).pipe(
          Effect.map((reply) => reply.body.data.seriesCollapsed[0][0].value as number)
        )
      const books = { subprop_type: "event", subprop_key: "category", subprop_value: ["books"] }
      const is = yield* total([{ ...books, subprop_op: "is" }])
      const isNot = yield* total([{ ...books, subprop_op: "is not" }])
      assert.strictEqual(is, viewItems.filter((o) => o.properties["category"] === "books").length)
      assert.strictEqual(is + isNot, viewItems.length)
      const expensive = yield* total([{
        subprop_type: "event",
        subprop_key: "price",
        subprop_op: "greater",
        subprop_value: ["100"]
      }])
      assert.strictEqual(expensive, viewItems.filter((o) => Number(o.properties["price"]) > 100).length)
      const ios = new Set(project.data.users.filter((u) => u.properties["platform"] === "iOS").map((u) => u.userId))
      const onIos = yield* total([{
        subprop_type: "user",
        subprop_key: "platform",
        subprop_op: "is",
        subprop_value: ["iOS"]
      }])
      assert.strictEqual(onIos, viewItems.filter((o) => ios.has(o.userId)).length)
    }))

  it.effect("segments: a userdata_cohort segment, a user-property segment, several segments", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const days = lastDays(project, 10)
      const cohort = project.data.cohorts.find((c) => c.name === "Pro plan")!
      const members = new Set(cohort.userIds)
      const e = JSON.stringify({ event_type: "_active" })
      const allEvents = project.data.events.flatMap((ev) => ev.occurrences).filter((o) => days.includes(o.day))
      const cohortSegment = JSON.stringify([{ prop: "userdata_cohort", op: "is", values: [cohort.id] }])
      const scoped = yield* segmentation({ e, s: cohortSegment, ...range(days) })
      assert.strictEqual(
        scoped.body.data.seriesCollapsed[0][0].value,
        distinctUsers(allEvents.filter((o) => members.has(o.userId)))
      )
      const german = new Set(
        project.data.users.filter((u) => u.properties["country"] === "Germany").map((u) => u.userId)
      )
      const both = yield* segmentation({
        e,
        s: [JSON.stringify([{ prop: "country", op: "is", values: ["Germany"] }]), cohortSegment],
        ...range(days)
      })
      assert.deepStrictEqual(both.body.data.seriesCollapsed, [
        [{ setId: "", value: distinctUsers(allEvents.filter((o) => german.has(o.userId))) }],
        [{ setId: "", value: distinctUsers(allEvents.filter((o) => members.has(o.userId))) }]
      ])
      const notPro = yield* segmentation({
        e,
        s: JSON.stringify([{ prop: "gp:plan", op: "is not", values: ["pro"] }]),
        ...range(days)
      })
      const pro = new Set(project.data.users.filter((u) => u.properties["gp:plan"] === "pro").map((u) => u.userId))
      assert.strictEqual(
        notPro.body.data.seriesCollapsed[0][0].value,
        distinctUsers(allEvents.filter((o) => !pro.has(o.userId)))
      )
    }))

  it.effect("grouping: e.group_by gives [segmentIndex, label] pairs, g gives strings; sorted by value", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const days = lastDays(project, 3)
      const views = occurrencesOf(project, "View Item", days)
      const grouped = yield* segmentation({
        e: JSON.stringify({ event_type: "View Item", group_by: [{ type: "event", value: "category" }] }),
        m: "totals",
        ...range(days)
      })
      const expected = new Map<string, number>()
      for (const o of views) {
        expected.set(String(o.properties["category"]), (expected.get(String(o.properties["category"])) ?? 0) + 1)
      }
      const labels: Array<[number, string]> = grouped.body.data.seriesLabels
      assert.deepStrictEqual(
        new Map(labels.map(([, label], i) => [label, grouped.body.data.seriesCollapsed[i][0].value])),
        expected
      )
      assert.isTrue(labels.every(([segment]) => segment === 0))
      const collapsed = grouped.body.data.seriesCollapsed.map((c: any) => c[0].value)
      assert.deepStrictEqual(collapsed, [...collapsed].sort((a: number, b: number) => b - a))

      const byCountry = yield* segmentation({
        e: JSON.stringify({ event_type: "View Item" }),
        g: "country",
        ...range(days)
      })
      assert.isTrue(byCountry.body.data.seriesLabels.every((l: unknown) => typeof l === "string"))
      const limited = yield* segmentation({
        e: JSON.stringify({ event_type: "View Item" }),
        g: "country",
        limit: "2",
        ...range(days)
      })
      assert.strictEqual(limited.body.data.series.length, 2)
    }))

  it.effect("e2 adds the second event's series after the first", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const days = lastDays(project, 3)
      const reply = yield* segmentation({
        e: JSON.stringify({ event_type: "Purchase" }),
        e2: JSON.stringify({ event_type: "Share" }),
        m: "totals",
        ...range(days)
      })
      assert.deepStrictEqual(reply.body.data.series, [
        days.map((day) => occurrencesOf(project, "Purchase", [day]).length),
        days.map((day) => occurrencesOf(project, "Share", [day]).length)
      ])
      assert.deepStrictEqual(reply.body.data.seriesLabels, [0, 0])
    }))

  it.effect("weekly buckets start on Monday", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const days = lastDays(project, 21)
      const reply = yield* segmentation({
        e: JSON.stringify({ event_type: "Search" }),
        m: "totals",
        i: "7",
        ...range(days)
      })
      const xValues: Array<string> = reply.body.data.xValues
      assert.isTrue(xValues.every((x) => new Date(`${x}T00:00:00Z`).getUTCDay() === 1))
      const total = reply.body.data.series[0].reduce((a: number, b: number) => a + b, 0)
      assert.strictEqual(total, occurrencesOf(project, "Search", days).length)
    }))

  it.effect("no data: empty arrays with xValues (range without data, unknown event)", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const before = project.data.days[0]!
      const reply = yield* segmentation({
        e: JSON.stringify({ event_type: "Purchase" }),
        start: "20200101",
        end: "20200102"
      })
      assert.deepStrictEqual(reply.body.data, {
        series: [],
        seriesLabels: [],
        seriesCollapsed: [],
        xValues: ["2020-01-01", "2020-01-02"]
      })
      const unknown = yield* segmentation({
        e: JSON.stringify({ event_type: "Nope" }),
        start: compact(before),
        end: compact(before)
      })
      assert.deepStrictEqual(unknown.body.data.series, [])
    }))

  it.effect("bad parameters answer 400 with the JSON error shape", () =>
    Effect.gen(function*() {
      const project = yield* (yield* AmplitudeEmulator).project(us.id)
      const r = range(lastDays(project, 2))
      const cohortId = project.data.cohorts[0]!.id
      const cases: ReadonlyArray<Record<string, string>> = [
        { ...r },
        { e: "{not json", ...r },
        { e: JSON.stringify({ event_type: "Purchase" }), start: "2026-07-01", end: r.end },
        { e: JSON.stringify({ event_type: "Purchase" }), start: "20261301", end: r.end },
        { e: JSON.stringify({ event_type: "Purchase" }), start: r.end, end: "20000101" },
        { e: JSON.stringify({ event_type: "Purchase" }), m: "bogus", ...r },
        { e: JSON.stringify({ event_type: "Purchase" }), m: "sums", ...r },
        { e: JSON.stringify({ event_type: "Any Active Event" }), ...r },
        { e: JSON.stringify({ event_type: "Purchase" }), g: "shoe_size", ...r },
        {
          e: JSON.stringify({ event_type: "Purchase" }),
          s: JSON.stringify([{ prop: "shoe_size", op: "is", values: ["1"] }]),
          ...r
        },
        {
          e: JSON.stringify({ event_type: "Purchase" }),
          s: JSON.stringify([{ prop: "userdata_cohort", op: "is", values: [`${cohortId}x`] }]),
          ...r
        },
        { e: JSON.stringify({ event_type: "Purchase" }), i: "-3600000", ...r }
      ]
      for (const params of cases) {
        const reply = yield* segmentation(params)
        assert.strictEqual(reply.status, 400, JSON.stringify(params))
        assert.deepStrictEqual(Object.keys(reply.body.error), ["http_code", "type", "message", "metadata"])
        assert.strictEqual(reply.body.error.http_code, 400)
        assert.strictEqual(reply.body.error.type, "invalid")
        assert.isString(reply.body.error.metadata.details)
      }
      const g = yield* segmentation({ e: JSON.stringify({ event_type: "Purchase" }), g: "shoe_size", ...r })
      assert.strictEqual(g.body.error.metadata.details, "Invalid user property shoe_size")
    }))
})

describe("segmentation cost", () => {
  it.scoped("charges days × conditions × query type and answers 429 over the budget", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator.make({
        demoProjects: false,
        projects: [{ id: "cost", data: { users: 10, days: 5, experiments: 1 } }]
      })
      const project = yield* emulator.project("cost")
      const days = project.data.days.slice(-3)
      const cohort = project.data.cohorts[0]!.id
      const get = (params: Record<string, string>) =>
        call(`${emulator.urls.us}/api/2/events/segmentation?${qs({ ...params, ...range(days) })}`, {
          headers: basicFor(project)
        })
      yield* get({ e: JSON.stringify({ event_type: "Purchase" }), m: "totals" })
      assert.strictEqual((yield* emulator.usage("cost")).costUsed, 3)
      yield* emulator.resetInspection
      const reply = yield* get({
        e: JSON.stringify({ event_type: "View Item", group_by: [{ type: "event", value: "category" }] }),
        s: JSON.stringify([{ prop: "userdata_cohort", op: "is", values: [cohort] }])
      })
      assert.strictEqual(reply.body.novaCost, 3 * 2 * 5)
      assert.strictEqual((yield* emulator.usage("cost")).costUsed, 30)
      yield* emulator.setLimits({ costBudget: 32 })
      const over = yield* get({ e: JSON.stringify({ event_type: "Purchase" }) })
      assert.strictEqual(over.status, 429)
      assert.strictEqual((yield* emulator.usage("cost")).costUsed, 30)
    }))
})
