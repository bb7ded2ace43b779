import { compactDay, type DayInput, daysInRange } from "./Dates.js"
import { analyticsCall } from "./internal/Call.js"
import { SeriesReply, toSeriesResult } from "./Series.js"

/** `is`, `is not`, `contains`, `greater`, … as Amplitude spells them. */
export type FilterOperator =
  | "is"
  | "is not"
  | "contains"
  | "does not contain"
  | "less"
  | "less or equal"
  | "greater"
  | "greater or equal"
  | "set is"
  | "set is not"
  | (string & {})

/**
 * A property condition on an event. Event-property filters stay inside the event; user-property
 * filters are sent as segment conditions (some endpoints refuse them inside `e`, docs/amplitude-api.md).
 */
export interface PropertyFilter {
  readonly type: "event" | "user"
  /** Built-in name (`country`) or custom property with its prefix as Amplitude expects it (`gp:plan`). */
  readonly key: string
  readonly op: FilterOperator
  readonly values: ReadonlyArray<string>
}

export interface PropertyRef {
  readonly type: "event" | "user"
  readonly key: string
}

/** One event of a query: the raw event name (`_active` = any active event), its filters and group-bys. */
export interface EventSpec {
  readonly eventType: string
  readonly filters?: ReadonlyArray<PropertyFilter>
  readonly groupBy?: ReadonlyArray<PropertyRef>
}

/** A condition of the query's segment; all conditions must hold. */
export interface SegmentCondition {
  readonly prop: string
  readonly op: FilterOperator
  readonly values: ReadonlyArray<string>
}

export const Segment = {
  /** Users who are members of the behavioral cohort when the query runs (no snapshot). */
  cohort: (cohortId: string): SegmentCondition => ({ prop: "userdata_cohort", op: "is", values: [cohortId] }),
  where: (prop: string, op: FilterOperator, values: ReadonlyArray<string>): SegmentCondition => ({ prop, op, values })
} as const

/**
 * `uniques` and `totals` count; `pct_dau` and `average` are rates; `sums`, `value_avg` and `histogram`
 * aggregate the numeric event property named by `property`.
 */
export type SegmentationMetric = "uniques" | "totals" | "pct_dau" | "average" | "sums" | "value_avg" | "histogram"

export type Interval = "daily" | "weekly" | "monthly"

export interface SegmentationQuery {
  readonly event: EventSpec
  /** Default `uniques`. */
  readonly metric?: SegmentationMetric
  /** Numeric property for `sums`, `value_avg` and `histogram`; sent as the event's group-by. */
  readonly property?: PropertyRef
  /** Default `daily`. */
  readonly interval?: Interval
  readonly start: DayInput
  readonly end: DayInput
  readonly segment?: ReadonlyArray<SegmentCondition>
}

export const INTERVAL_PARAM: Readonly<Record<Interval, string>> = { daily: "1", weekly: "7", monthly: "30" }

const PROPERTY_METRICS: ReadonlySet<SegmentationMetric> = new Set(["sums", "value_avg", "histogram"])

/** Metrics whose empty answer means 0 rather than "no value". */
const COUNT_METRICS: ReadonlySet<SegmentationMetric> = new Set(["uniques", "totals", "sums"])

export const isCountMetric = (metric: SegmentationMetric): boolean => COUNT_METRICS.has(metric)

interface EventJson {
  readonly event_type: string
  readonly filters?: ReadonlyArray<{
    readonly subprop_type: "event"
    readonly subprop_key: string
    readonly subprop_op: string
    readonly subprop_value: ReadonlyArray<string>
  }>
  readonly group_by?: ReadonlyArray<{ readonly type: "event" | "user"; readonly value: string }>
}

/** The `e` JSON of one event, and the user-property filters that go to the segment instead. */
export const eventJson = (
  event: EventSpec,
  extraGroupBy: ReadonlyArray<PropertyRef> = []
): { readonly e: EventJson; readonly userConditions: ReadonlyArray<SegmentCondition> } => {
  const filters = event.filters ?? []
  const eventFilters = filters.filter((f) => f.type === "event").map((f) => ({
    subprop_type: "event" as const,
    subprop_key: f.key,
    subprop_op: f.op,
    subprop_value: f.values
  }))
  const groupBy = [...(event.groupBy ?? []), ...extraGroupBy].map((g) => ({ type: g.type, value: g.key }))
  return {
    e: {
      event_type: event.eventType,
      ...(eventFilters.length > 0 ? { filters: eventFilters } : {}),
      ...(groupBy.length > 0 ? { group_by: groupBy } : {})
    },
    userConditions: filters.filter((f) => f.type === "user").map((f) => ({ prop: f.key, op: f.op, values: f.values }))
  }
}

const groupByCount = (event: EventSpec, extra: number) => (event.groupBy?.length ?? 0) + extra

/**
 * Conditions of the query-cost formula for one segment of `n` conditions and top-level group-bys: the segment, its
 * conditions and 4 per group-by, at least 1.
 */
export const conditionCount = (n: number, groupBys = 0): number => Math.max(1, (n === 0 ? 0 : 1 + n) + 4 * groupBys)

export const segmentationParams = (query: SegmentationQuery): Array<readonly [string, string]> => {
  const metric = query.metric ?? "uniques"
  const property = PROPERTY_METRICS.has(metric) && query.property !== undefined ? [query.property] : []
  const { e, userConditions } = eventJson(query.event, property)
  const segment = [...(query.segment ?? []), ...userConditions]
  return [
    ["e", JSON.stringify(e)],
    ["m", metric],
    ["i", INTERVAL_PARAM[query.interval ?? "daily"]],
    ["start", compactDay(query.start)],
    ["end", compactDay(query.end)],
    ...(segment.length > 0 ? [["s", JSON.stringify(segment)] as const] : [])
  ]
}

/** Query cost: days × conditions × (1 event + 4 per group-by, the aggregated property included). */
export const segmentationCost = (query: SegmentationQuery): number => {
  const metric = query.metric ?? "uniques"
  const property = PROPERTY_METRICS.has(metric) && query.property !== undefined ? 1 : 0
  const userFilters = (query.event.filters ?? []).filter((f) => f.type === "user").length
  const conditions = conditionCount((query.segment?.length ?? 0) + userFilters)
  return daysInRange(query.start, query.end) * conditions * (1 + 4 * groupByCount(query.event, property))
}

/** `GET /api/2/events/segmentation`. */
export const segmentation = analyticsCall((query: SegmentationQuery) => ({
  request: {
    endpoint: "/api/2/events/segmentation",
    urlParams: segmentationParams(query),
    cost: segmentationCost(query)
  },
  reply: SeriesReply,
  refused: "Amplitude refused the segmentation query",
  map: (decoded) =>
    toSeriesResult(decoded.data, {
      missing: isCountMetric(query.metric ?? "uniques") ? 0 : null,
      collapsedIsTotal: true
    })
}))
