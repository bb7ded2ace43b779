import { dayRange } from "./Dates.js"
import { computeFunnel, funnelCost, parseFunnelQuery } from "./Funnels.js"
import { dashboardError, type HttpResult, invalidRequest, json, type RequestContext, type Route } from "./Http.js"
import {
  buckets,
  conditionCount,
  diagnostics,
  type Interval,
  InvalidQuery,
  parseEvent,
  parseInterval,
  parseRange,
  parseSegmentedRange,
  parseSegments,
  type Segment,
  type SegmentedRange,
  segmentedRangeCost,
  segmentUsers,
  usersById
} from "./Queries.js"
import { hashString, type ProjectData, type SavedChart } from "./Seed.js"
import {
  computeSegmentation,
  parseSegmentationQuery,
  segmentationCost,
  type SegmentationQuery,
  type SegmentationResult
} from "./Segmentation.js"

/** A route whose query is parsed once for both the cost charge and the answer. */
const queryRoute = <Q>(options: {
  readonly pattern: string
  readonly name: string
  readonly parse: (data: ProjectData, query: URLSearchParams) => Q
  readonly cost: (query: Q) => number
  readonly answer: (ctx: RequestContext, query: Q) => HttpResult
}): Route => {
  const parsed = new WeakMap<RequestContext, Q | InvalidQuery>()
  const parse = (ctx: RequestContext): Q | InvalidQuery => {
    if (!parsed.has(ctx)) {
      try {
        parsed.set(ctx, options.parse(ctx.project.project.data, ctx.query))
      } catch (error) {
        if (!(error instanceof InvalidQuery)) throw error
        parsed.set(ctx, error)
      }
    }
    return parsed.get(ctx)!
  }
  return {
    method: "GET",
    pattern: options.pattern,
    name: options.name,
    cost: (ctx) => {
      const query = parse(ctx)
      return query instanceof InvalidQuery ? 1 : options.cost(query)
    },
    handle: (ctx) => {
      const query = parse(ctx)
      return query instanceof InvalidQuery ? invalidRequest(query.details) : options.answer(ctx, query)
    }
  }
}

const requestSeed = (ctx: RequestContext) => hashString(`${ctx.path}?${ctx.query.toString()}`)

const segmentationData = (result: SegmentationResult) => ({
  series: result.series.map((s) => s.values),
  seriesLabels: result.series.map((s) => s.label),
  seriesCollapsed: result.series.map((s) => [{ setId: "", value: s.collapsed }]),
  xValues: result.xValues
})

const segmentationRoute = queryRoute({
  pattern: "/api/2/events/segmentation",
  name: "events.segmentation",
  parse: parseSegmentationQuery,
  cost: segmentationCost,
  answer: (ctx, query) =>
    json({
      data: segmentationData(computeSegmentation(ctx.project.project.data, query)),
      ...diagnostics("MULTI_SEGMENTATION", segmentationCost(query), ctx.now, requestSeed(ctx))
    })
})

const funnelRoute = queryRoute({
  pattern: "/api/2/funnels",
  name: "funnels",
  parse: parseFunnelQuery,
  cost: funnelCost,
  answer: (ctx, query) => {
    const data = computeFunnel(ctx.project.project.data, query)
    return json({
      data,
      numSeries: data.length,
      ...diagnostics("FUNNEL", funnelCost(query), ctx.now, requestSeed(ctx))
    })
  }
})

interface UsersQuery extends SegmentedRange {
  readonly metric: "active" | "new"
}

const parseUsersQuery = (data: ProjectData, query: URLSearchParams): UsersQuery => {
  const metric = query.get("m") ?? "active"
  if (metric !== "active" && metric !== "new") throw new InvalidQuery(`Invalid metric m=${metric}`)
  return { metric, ...parseSegmentedRange(data, query) }
}

const usersCost = (query: UsersQuery) => segmentedRangeCost(query)

/**
 * Active users = users with at least one event (any event, hidden ones included) in the bucket;
 * new users = users whose `firstSeen` day is in the bucket.
 */
const answerUsers = (ctx: RequestContext, query: UsersQuery): HttpResult => {
  const data = ctx.project.project.data
  const users = usersById(data)
  const bucketList = buckets(query.days, query.interval)
  const bucketOf = new Map(bucketList.flatMap((b, i) => b.days.map((day) => [day, i] as const)))
  const xValues = bucketList.map((b) => b.label)
  const segments = query.segments.length === 0 ? [undefined] : query.segments
  const rows: Array<{ label: string | undefined; segmentIndex: number; values: Array<number> }> = []
  segments.forEach((segment, segmentIndex) => {
    const members = segmentUsers(data, segment)
    const sets = new Map<string, Array<Set<string>>>()
    const add = (userId: string, index: number) => {
      const key = query.groupBy === undefined ? "" : String(users.get(userId)?.properties[query.groupBy] ?? "(none)")
      let perBucket = sets.get(key)
      if (perBucket === undefined) {
        perBucket = bucketList.map(() => new Set<string>())
        sets.set(key, perBucket)
      }
      perBucket[index]!.add(userId)
    }
    if (query.metric === "active") {
      for (const event of data.events) {
        for (const o of event.occurrences) {
          const index = bucketOf.get(o.day)
          if (index !== undefined && members.has(o.userId)) add(o.userId, index)
        }
      }
    } else {
      for (const user of data.users) {
        const index = bucketOf.get(user.firstSeen)
        if (index !== undefined && members.has(user.userId)) add(user.userId, index)
      }
    }
    const groupRows = [...sets].map(([key, perBucket]) => ({
      label: query.groupBy === undefined ? undefined : key,
      segmentIndex,
      values: perBucket.map((s) => s.size)
    }))
    const total = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0)
    groupRows.sort((a, b) => total(b.values) - total(a.values) || (a.label ?? "").localeCompare(b.label ?? ""))
    rows.push(...groupRows.slice(0, query.limit))
  })
  if (rows.length === 0) {
    return json({ data: { xValues, series: [], seriesCollapsed: [], seriesLabels: [], seriesMeta: [] } })
  }
  if (query.groupBy !== undefined && ctx.switches.usersGroupLabels === "seriesMeta") {
    return json({ data: { series: rows.map((r) => r.values), seriesMeta: rows.map((r) => r.label), xValues } })
  }
  return json({
    data: {
      xValues,
      series: rows.map((r) => r.values),
      seriesCollapsed: rows.map(() => [0]),
      seriesLabels: rows.map((r) => r.label ?? 0),
      seriesMeta: rows.map((r) => ({ segmentIndex: r.segmentIndex }))
    }
  })
}

const usersRoute = queryRoute({
  pattern: "/api/2/users",
  name: "users",
  parse: parseUsersQuery,
  cost: usersCost,
  answer: answerUsers
})

interface SessionsQuery {
  readonly segments: ReadonlyArray<Segment>
  readonly interval: Interval
  readonly days: ReadonlyArray<string>
}

const parseSessionsQuery = (data: ProjectData, query: URLSearchParams): SessionsQuery => ({
  segments: parseSegments(data, query.getAll("s")),
  interval: parseInterval(query),
  days: parseRange(query).days
})

/** Query cost of the "User Sessions" query type: 4. */
const sessionsCost = (query: SessionsQuery) => query.days.length * conditionCount(query.segments, 0) * 4

/**
 * Average session length in seconds per bucket (`average`), or sessions per user with a session
 * (`peruser`); buckets without sessions are 0.
 */
const sessionsRoute = (kind: "average" | "peruser") =>
  queryRoute({
    pattern: `/api/2/sessions/${kind}`,
    name: `sessions.${kind}`,
    parse: parseSessionsQuery,
    cost: sessionsCost,
    answer: (ctx, query) => {
      const data = ctx.project.project.data
      const bucketList = buckets(query.days, query.interval)
      const bucketOf = new Map(bucketList.flatMap((b, i) => b.days.map((day) => [day, i] as const)))
      const segments = query.segments.length === 0 ? [undefined] : query.segments
      const value = (lengths: ReadonlyArray<number>, users: Set<string>) =>
        lengths.length === 0
          ? 0
          : kind === "average"
          ? lengths.reduce((a, b) => a + b, 0) / lengths.length
          : lengths.length / users.size
      const rows = segments.map((segment) => {
        const members = segmentUsers(data, segment)
        const perBucket = bucketList.map(() => ({ lengths: [] as Array<number>, users: new Set<string>() }))
        const range = { lengths: [] as Array<number>, users: new Set<string>() }
        for (const session of data.sessions) {
          const index = bucketOf.get(session.day)
          if (index === undefined || !members.has(session.userId)) continue
          for (const acc of [perBucket[index]!, range]) {
            acc.lengths.push(session.lengthSeconds)
            acc.users.add(session.userId)
          }
        }
        return {
          values: perBucket.map((acc) => value(acc.lengths, acc.users)),
          collapsed: value(range.lengths, range.users)
        }
      })
      return json({
        data: {
          series: rows.map((r) => r.values),
          seriesCollapsed: rows.map((r) => [{ setId: "", value: r.collapsed }]),
          seriesMeta: rows.map((_, segmentIndex) => ({ segmentIndex, sessionIndex: 0 })),
          xValues: bucketList.map((b) => `${b.label}T00:00:00`)
        },
        ...diagnostics("QUERY_GRAPH", sessionsCost(query), ctx.now, requestSeed(ctx))
      })
    }
  })

/** The segmentation a saved chart stands for: its own event, metric and date range, daily. */
export const chartQuery = (data: ProjectData, chart: SavedChart): SegmentationQuery => ({
  events: [parseEvent(data, JSON.stringify(chart.definition.e))],
  metric: chart.definition.m,
  segments: [],
  groupBy: undefined,
  interval: 1,
  days: dayRange(chart.definition.start, chart.definition.end),
  limit: 100
})

const withChart = (ctx: RequestContext, answer: (chart: SavedChart) => HttpResult): HttpResult => {
  const chart = ctx.project.project.data.charts.find((c) => c.id === ctx.params["id"])
  if (chart !== undefined) return answer(chart)
  const status = ctx.switches.chartNotFoundStatus
  const type = status === 404 ? "not_found" : status === 403 ? "forbidden" : "invalid"
  return dashboardError(
    status,
    type,
    "Chart not found",
    `Chart ${ctx.params["id"]} does not exist or is not accessible`
  )
}

const point = (value: number) => ({ setId: "", value })

const chartJson = (ctx: RequestContext) =>
  withChart(ctx, (chart) => {
    const result = computeSegmentation(ctx.project.project.data, chartQuery(ctx.project.project.data, chart))
    const seed = requestSeed(ctx)
    return json({
      data: {
        series: result.series.map((s) => s.values.map(point)),
        seriesCollapsed: result.series.map((s) => [point(s.collapsed)]),
        seriesLabels: result.series.map((s) => s.label),
        seriesMeta: result.series.map((s) => ({ segmentIndex: s.segmentIndex, eventIndex: s.eventIndex })),
        xValues: result.xValues
      },
      ...diagnostics("MULTI_SEGMENTATION", 0, ctx.now, seed, true),
      subcluster: 3,
      millisSinceComputed: 60_000 + (seed % 60_000)
    })
  })

const METRIC_NAMES: Record<SavedChart["definition"]["m"], string> = {
  uniques: "Uniques",
  totals: "Totals",
  pct_dau: "Active %",
  average: "Average",
  sums: "Sum of Property Value",
  value_avg: "Average of Property Value"
}

const csvRow = (cells: ReadonlyArray<string>) => cells.map((cell) => `"${cell.replaceAll("\"", "\"\"")}"`).join(",")

/** `/csv` body: `{"data":"<csv>"}`, quoted cells, text cells start with a tab, CRLF lines. */
const chartCsv = (ctx: RequestContext) =>
  withChart(ctx, (chart) => {
    const result = computeSegmentation(ctx.project.project.data, chartQuery(ctx.project.project.data, chart))
    const values = result.series[0]?.values ?? result.xValues.map(() => 0)
    const lines = [
      csvRow([`\t${chart.name}`]),
      csvRow([`\t${chart.description}`]),
      "",
      csvRow([`\t${METRIC_NAMES[chart.definition.m]}`]),
      csvRow([`\t${chart.definition.e.event_type}`]),
      "",
      csvRow(["\tSegment", ...result.xValues.map((x) => `\t${x}`)]),
      csvRow(["\tAll Users", ...values.map(String)])
    ]
    return json({ data: lines.map((line) => `${line}\r\n`).join("") })
  })

export const dashboardRoutes: ReadonlyArray<Route> = [
  segmentationRoute,
  funnelRoute,
  usersRoute,
  sessionsRoute("average"),
  sessionsRoute("peruser"),
  { method: "GET", pattern: "/api/3/chart/:id/query", name: "chart.query", cost: () => 1, handle: chartJson },
  { method: "GET", pattern: "/api/3/chart/:id/csv", name: "chart.csv", cost: () => 1, handle: chartCsv }
]
