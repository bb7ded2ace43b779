import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator, DEMO_PROJECTS, type Occurrence, type Project } from "../src/index.js"
import { basicFor, call, qs } from "./helpers.js"

const us = DEMO_PROJECTS.us

const compact = (day: string) => day.replaceAll("-", "")
const range = (days: ReadonlyArray<string>) => ({ start: compact(days[0]!), end: compact(days[days.length - 1]!) })

const get = (path: string, params: Record<string, string | ReadonlyArray<string>> = {}) =>
  Effect.gen(function*() {
    const { urls } = yield* AmplitudeEmulator
    return yield* call(`${urls.us}${path}?${qs(params)}`, { headers: basicFor(us) })
  })

const demo = Effect.flatMap(AmplitudeEmulator, (emulator) => emulator.project(us.id))

const byUser = (project: Project, name: string) => {
  const map = new Map<string, Array<Occurrence>>()
  for (const o of project.data.events.find((e) => e.name === name)!.occurrences) {
    map.set(o.userId, [...(map.get(o.userId) ?? []), o])
  }
  return map
}

/** Ordered funnel, computed independently: earliest entry in range, each step later and within the window. */
const expectedFunnel = (
  project: Project,
  steps: ReadonlyArray<string>,
  days: ReadonlyArray<string>,
  windowMs: number
) => {
  const perStep = steps.map((name) => byUser(project, name))
  const reached = steps.map(() => 0)
  for (const [userId, entries] of perStep[0]!) {
    const entry = [...entries].sort((a, b) => a.time - b.time).find((o) => days.includes(o.day))
    if (entry === undefined) continue
    let last = entry.time
    reached[0]!++
    for (let k = 1; k < steps.length; k++) {
      const next = (perStep[k]!.get(userId) ?? [])
        .filter((o) => o.time > last && o.time <= entry.time + windowMs)
        .sort((a, b) => a.time - b.time)[0]
      if (next === undefined) break
      last = next.time
      reached[k]!++
    }
  }
  return reached
}

layer(AmplitudeEmulator.layer())("Dashboard REST reports", (it) => {
  it.effect("GET /api/2/funnels: ordered conversion with the default 30-day window, recorded shape", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const days = project.data.days.slice(-14)
      const steps = ["View Item", "Add to Cart", "Purchase"]
      const reply = yield* get("/api/2/funnels", {
        e: steps.map((event_type) => JSON.stringify({ event_type })),
        ...range(days)
      })
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.body.numSeries, 1)
      assert.strictEqual(reply.body.perQueryMetadata[0].queryType, "FUNNEL")
      const [funnel] = reply.body.data
      const raw = expectedFunnel(project, steps, days, 2_592_000_000)
      assert.deepStrictEqual(funnel.cumulativeRaw, raw)
      assert.deepStrictEqual(funnel.cumulative, raw.map((n) => n / raw[0]!))
      assert.deepStrictEqual(funnel.stepByStep, raw.map((n, k) => (k === 0 ? 1 : n / raw[k - 1]!)))
      assert.deepStrictEqual(funnel.meta, { segmentIndex: 0 })
      assert.strictEqual(funnel.groupValue, "")
      assert.deepStrictEqual(funnel.events, steps)
      assert.strictEqual(funnel.medianTransTimes.length, 3)
      assert.strictEqual(funnel.avgTransTimes.length, 3)
      assert.deepStrictEqual(funnel.dayFunnels.xValues, days)
      assert.strictEqual(funnel.dayFunnels.formattedXValues.length, days.length)
      assert.match(funnel.dayFunnels.formattedXValues[0], /^[A-Z][a-z]{2} \d{2}$/)
      assert.isTrue(funnel.dayFunnels.series.every((row: Array<number>) => row.length === 3))
      assert.strictEqual(funnel.dayFunnels.series.reduce((sum: number, row: Array<number>) => sum + row[0]!, 0), raw[0])
      assert.isTrue(funnel.dayMedianTransTimes.series.flat().every((v: number) => v === -1 || v >= 0))
      assert.strictEqual(funnel.stepTransTimeDistribution.step_bins.length, 3)
      assert.deepStrictEqual(funnel.convertedCounts, { "0": raw[0], "1": raw[1], "2": raw[2] })
      assert.deepStrictEqual(funnel.dropoffCounts, { "0": 0, "1": raw[0]! - raw[1]!, "2": raw[1]! - raw[2]! })
      assert.strictEqual(reply.body.novaCost, 14 * 1 * 6)
    }))

  it.effect("funnels: cs narrows the window; filters label the step; segments and g give one element each", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const days = project.data.days.slice(-7)
      const e = [JSON.stringify({ event_type: "Add to Cart" }), JSON.stringify({ event_type: "Purchase" })]
      const hour = yield* get("/api/2/funnels", { e, cs: "3600", ...range(days) })
      assert.deepStrictEqual(
        hour.body.data[0].cumulativeRaw,
        expectedFunnel(project, ["Add to Cart", "Purchase"], days, 3_600_000)
      )

      const filtered = yield* get("/api/2/funnels", {
        e: [
          JSON.stringify({
            event_type: "View Item",
            filters: [{
              subprop_type: "event",
              subprop_key: "category",
              subprop_op: "is",
              subprop_value: ["books", "games"]
            }]
          }),
          e[1]!
        ],
        ...range(days)
      })
      assert.deepStrictEqual(filtered.body.data[0].events, ["View Item (books, games)", "Purchase"])

      const segments = yield* get("/api/2/funnels", {
        e,
        s: [
          JSON.stringify([{ prop: "platform", op: "is", values: ["iOS"] }]),
          JSON.stringify([{ prop: "platform", op: "is not", values: ["iOS"] }])
        ],
        ...range(days)
      })
      assert.deepStrictEqual(segments.body.data.map((el: any) => el.meta.segmentIndex), [0, 1])
      const all = expectedFunnel(project, ["Add to Cart", "Purchase"], days, 2_592_000_000)
      assert.strictEqual(segments.body.data[0].cumulativeRaw[0] + segments.body.data[1].cumulativeRaw[0], all[0])

      const grouped = yield* get("/api/2/funnels", { e, g: "platform", ...range(days) })
      assert.sameMembers(grouped.body.data.map((el: any) => el.groupValue), ["Web", "iOS", "Android"])
      assert.strictEqual(grouped.body.numSeries, 3)
    }))

  it.effect("funnels: unordered mode counts later steps in any order; sequential is refused", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const days = project.data.days.slice(-7)
      const e = [
        JSON.stringify({ event_type: "Search" }),
        JSON.stringify({ event_type: "Share" }),
        JSON.stringify({ event_type: "Purchase" })
      ]
      const ordered = yield* get("/api/2/funnels", { e, ...range(days) })
      const unordered = yield* get("/api/2/funnels", { e, mode: "unordered", ...range(days) })
      const [o, u] = [ordered.body.data[0].cumulativeRaw, unordered.body.data[0].cumulativeRaw]
      assert.strictEqual(o[0], u[0])
      assert.isAtLeast(u[2], o[2])
      const share = byUser(project, "Share")
      const purchase = byUser(project, "Purchase")
      let both = 0
      for (const [userId, entries] of byUser(project, "Search")) {
        const entry = [...entries].sort((a, b) => a.time - b.time).find((x) => days.includes(x.day))
        if (entry === undefined) continue
        const within = (list: ReadonlyArray<Occurrence> | undefined) =>
          (list ?? []).some((x) => x.time >= entry.time && x.time <= entry.time + 2_592_000_000)
        if (within(share.get(userId)) && within(purchase.get(userId))) both++
      }
      assert.strictEqual(u[2], both)
      const sequential = yield* get("/api/2/funnels", { e, mode: "sequential", ...range(days) })
      assert.strictEqual(sequential.status, 400)
    }))

  it.effect("funnels: nobody entered → {data:[],numSeries:0}; fewer than two steps → 400", () =>
    Effect.gen(function*() {
      const empty = yield* get("/api/2/funnels", {
        e: [JSON.stringify({ event_type: "Purchase" }), JSON.stringify({ event_type: "Share" })],
        start: "20200101",
        end: "20200103"
      })
      assert.deepStrictEqual([empty.status, empty.body.data, empty.body.numSeries], [200, [], 0])
      const single = yield* get("/api/2/funnels", {
        e: JSON.stringify({ event_type: "Purchase" }),
        start: "20200101",
        end: "20200103"
      })
      assert.strictEqual(single.status, 400)
      assert.strictEqual(single.body.error.http_code, 400)
    }))

  it.effect("GET /api/2/users: active and new users per day in the Observed ungrouped shape (data only)", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const days = project.data.days.slice(-4)
      const active = yield* get("/api/2/users", { m: "active", i: "1", ...range(days) })
      const activeOn = (day: string) =>
        new Set(project.data.events.flatMap((e) => e.occurrences.filter((o) => o.day === day).map((o) => o.userId)))
          .size
      assert.deepStrictEqual(active.body, {
        data: {
          xValues: days,
          series: [days.map(activeOn)],
          seriesCollapsed: [[0]],
          seriesLabels: [0],
          seriesMeta: [{ segmentIndex: 0 }]
        }
      })
      const allDays = project.data.days
      const newUsers = yield* get("/api/2/users", { m: "new", ...range(allDays) })
      assert.deepStrictEqual(newUsers.body.data.series, [
        allDays.map((day) => project.data.users.filter((u) => u.firstSeen === day).length)
      ])
      const none = yield* get("/api/2/users", { start: "20200101", end: "20200102" })
      assert.deepStrictEqual(none.body, {
        data: {
          xValues: ["2020-01-01", "2020-01-02"],
          series: [],
          seriesCollapsed: [],
          seriesLabels: [],
          seriesMeta: []
        }
      })
      const bad = yield* get("/api/2/users", { g: "shoe_size", ...range(days) })
      assert.deepStrictEqual(bad.body, {
        error: {
          http_code: 400,
          type: "invalid",
          message: "Invalid chart definition",
          metadata: { details: "Invalid user property shoe_size" }
        }
      })
    }))

  it.effect("GET /api/2/users grouped by g: labels as strings in seriesLabels", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const days = project.data.days.slice(-2)
      const reply = yield* get("/api/2/users", { g: "country", ...range(days) })
      const labels: Array<string> = reply.body.data.seriesLabels
      assert.sameMembers(labels, [...new Set(project.data.users.map((u) => String(u.properties["country"])))])
      const index = labels.indexOf("Germany")
      const germans = new Set(
        project.data.users.filter((u) => u.properties["country"] === "Germany").map((u) => u.userId)
      )
      const activeGermans = (day: string) =>
        new Set(project.data.events.flatMap((e) =>
          e.occurrences.filter((o) => o.day === day && germans.has(o.userId)).map((o) => o.userId)
        )).size
      assert.deepStrictEqual(reply.body.data.series[index], days.map(activeGermans))
    }))

  it.effect("GET /api/2/sessions/average and /peruser: seconds per day, T00:00:00 labels, QUERY_GRAPH", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const days = project.data.days.slice(-3)
      const reply = yield* get("/api/2/sessions/average", range(days))
      const sessionsOn = (ds: ReadonlyArray<string>) => project.data.sessions.filter((s) => ds.includes(s.day))
      const average = (ds: ReadonlyArray<string>) => {
        const list = sessionsOn(ds)
        return list.reduce((sum, s) => sum + s.lengthSeconds, 0) / list.length
      }
      assert.deepStrictEqual(reply.body.data, {
        series: [days.map((day) => average([day]))],
        seriesCollapsed: [[{ setId: "", value: average(days) }]],
        seriesMeta: [{ segmentIndex: 0, sessionIndex: 0 }],
        xValues: days.map((day) => `${day}T00:00:00`)
      })
      assert.strictEqual(reply.body.perQueryMetadata[0].queryType, "QUERY_GRAPH")
      assert.strictEqual(reply.body.novaCost, 3 * 4)
      const perUser = yield* get("/api/2/sessions/peruser", range(days))
      assert.deepStrictEqual(
        perUser.body.data.series,
        [days.map((day) => sessionsOn([day]).length / new Set(sessionsOn([day]).map((s) => s.userId)).size)]
      )
      const empty = yield* get("/api/2/sessions/average", { start: "20200101", end: "20200102" })
      assert.deepStrictEqual(empty.body.data.series, [[0, 0]])
    }))

  it.effect("GET /api/3/chart/:id/query: {setId,value} points over the chart's saved range", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const chart = project.data.charts.find((c) => c.name === "Daily buyers")!
      const reply = yield* get(`/api/3/chart/${chart.id}/query`)
      const days = project.data.days.filter((d) => d >= chart.definition.start && d <= chart.definition.end)
      const purchases = project.data.events.find((e) => e.name === "Purchase")!.occurrences
      const buyers = (ds: ReadonlyArray<string>) =>
        new Set(purchases.filter((o) => ds.includes(o.day)).map((o) => o.userId)).size
      assert.deepStrictEqual(reply.body.data, {
        series: [days.map((day) => ({ setId: "", value: buyers([day]) }))],
        seriesCollapsed: [[{ setId: "", value: buyers(days) }]],
        seriesLabels: [0],
        seriesMeta: [{ segmentIndex: 0, eventIndex: 0 }],
        xValues: days
      })
      assert.isTrue(reply.body.wasCached)
      assert.strictEqual(reply.body.novaCost, 0)

      const revenue = project.data.charts.find((c) => c.name === "Revenue")!
      const sums = yield* get(`/api/3/chart/${revenue.id}/query`)
      const revenueDays = project.data.days.filter((d) => d >= revenue.definition.start && d <= revenue.definition.end)
      assert.strictEqual(
        sums.body.data.seriesCollapsed[0][0].value,
        purchases.filter((o) => revenueDays.includes(o.day)).reduce(
          (sum, o) => sum + Number(o.properties["revenue"]),
          0
        )
      )
    }))

  it.effect("GET /api/3/chart/:id/csv: {data:<csv>} with quoted, tab-prefixed cells and CRLF lines", () =>
    Effect.gen(function*() {
      const project = yield* demo
      const chart = project.data.charts.find((c) => c.name === "Searches")!
      const json = yield* get(`/api/3/chart/${chart.id}/query`)
      const csv = yield* get(`/api/3/chart/${chart.id}/csv`)
      assert.strictEqual(csv.headers.get("content-type"), "application/json; charset=UTF-8")
      const lines: Array<string> = csv.body.data.split("\r\n")
      assert.deepStrictEqual(lines.slice(0, 6), [
        "\"\tSearches\"",
        "\"\tSearch events per day\"",
        "",
        "\"\tTotals\"",
        "\"\tSearch\"",
        ""
      ])
      assert.deepStrictEqual(
        lines[6],
        ["\tSegment", ...json.body.data.xValues.map((x: string) => `\t${x}`)].map((c) => `"${c}"`).join(",")
      )
      assert.deepStrictEqual(
        lines[7],
        ["\tAll Users", ...json.body.data.series[0].map((p: any) => String(p.value))].map((c) => `"${c}"`).join(",")
      )
      assert.strictEqual(lines[8], "")
    }))

  it.effect("unknown chart: 404 with the JSON error shape", () =>
    Effect.gen(function*() {
      for (const suffix of ["query", "csv"]) {
        const reply = yield* get(`/api/3/chart/zzzzzz/${suffix}`)
        assert.strictEqual(reply.status, 404)
        assert.strictEqual(reply.body.error.http_code, 404)
        assert.deepStrictEqual(Object.keys(reply.body.error), ["http_code", "type", "message", "metadata"])
      }
    }))
})

describe("report switches", () => {
  it.scoped("chartNotFoundStatus 400/403 and usersGroupLabels=seriesMeta", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator.make({
        demoProjects: false,
        projects: [{ id: "r", data: { users: 20, days: 3, experiments: 1 } }]
      })
      const project = yield* emulator.project("r")
      const fetchChart = call(`${emulator.urls.us}/api/3/chart/nope/query`, { headers: basicFor(project) })
      for (const status of [400, 403] as const) {
        yield* emulator.setSwitches({ chartNotFoundStatus: status })
        const reply = yield* fetchChart
        assert.deepStrictEqual([reply.status, reply.body.error.http_code], [status, status])
      }
      yield* emulator.setSwitches({ usersGroupLabels: "seriesMeta" })
      const reply = yield* call(
        `${emulator.urls.us}/api/2/users?${qs({ g: "platform", ...range(project.data.days) })}`,
        { headers: basicFor(project) }
      )
      assert.deepStrictEqual(Object.keys(reply.body.data), ["series", "seriesMeta", "xValues"])
      assert.isTrue(reply.body.data.seriesMeta.every((l: unknown) => typeof l === "string"))
    }))
})
