import { Duration, Schema } from "effect"
import { compactDay, type DayInput, daysInRange } from "./Dates.js"
import { analyticsCall } from "./internal/Call.js"
import { conditionCount, eventJson, type EventSpec, type SegmentCondition } from "./Segmentation.js"

export interface FunnelQuery {
  /** Two or more steps, in order. */
  readonly steps: ReadonlyArray<EventSpec>
  readonly start: DayInput
  readonly end: DayInput
  /** Time allowed from the first to the last step; Amplitude's default is 30 days. */
  readonly conversionWindow?: Duration.DurationInput
  /** Default `ordered`. */
  readonly mode?: "ordered" | "unordered" | "sequential"
  /** Which users enter: `active` (default) or `new`. */
  readonly users?: "active" | "new"
  readonly segment?: ReadonlyArray<SegmentCondition>
}

export interface FunnelStep {
  /** Amplitude's step label (the event name, plus filter values in parentheses). */
  readonly label: string
  /** Users who reached this step within the window. */
  readonly count: number
  /** Share of entrants who reached this step; null when nobody entered. */
  readonly conversionFromStart: number | null
  readonly conversionFromPrevious: number | null
  /** Time from the previous step (milliseconds); null for the first step and when nobody converted. */
  readonly medianTimeFromPreviousMs: number | null
  readonly averageTimeFromPreviousMs: number | null
}

export interface FunnelGroup {
  /** Group-by value or segment; null when the query is ungrouped. */
  readonly group: string | null
  readonly entered: number
  readonly converted: number
  readonly conversion: number | null
  readonly steps: ReadonlyArray<FunnelStep>
}

/** The funnel over the whole range. `entered`/`converted`/`conversion`/`steps` are those of the first group. */
export interface FunnelResult extends FunnelGroup {
  readonly groups: ReadonlyArray<FunnelGroup>
}

const NumberArray = Schema.Array(Schema.NullOr(Schema.Number))

const FunnelElement = Schema.Struct({
  groupValue: Schema.optional(Schema.Unknown),
  events: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  cumulativeRaw: Schema.Array(Schema.Number),
  medianTransTimes: Schema.optionalWith(NumberArray, { default: () => [] }),
  avgTransTimes: Schema.optionalWith(NumberArray, { default: () => [] })
})
type FunnelElement = typeof FunnelElement.Type

export const FunnelReply = Schema.Struct({ data: Schema.Array(FunnelElement) })

const ratio = (part: number | undefined, whole: number | undefined): number | null =>
  part === undefined || whole === undefined || whole === 0 ? null : part / whole

/** Index 0 of the transition-time arrays is not a transition (docs/amplitude-api.md); -1 means "nobody converted". */
const transitionTime = (times: ReadonlyArray<number | null>, index: number): number | null => {
  const value = index === 0 ? null : times[index]
  return value === undefined || value === null || value < 0 ? null : value
}

const groupLabel = (value: unknown): string | null => {
  if (typeof value === "string") return value === "" ? null : value
  if (typeof value === "number") return String(value)
  if (Array.isArray(value)) return value.length === 0 ? null : value.map(String).join("; ")
  return null
}

const toGroup = (element: FunnelElement, stepLabels: ReadonlyArray<string>): FunnelGroup => {
  const counts = element.cumulativeRaw
  const steps = counts.map((count, index): FunnelStep => ({
    label: element.events[index] ?? stepLabels[index] ?? `Step ${index + 1}`,
    count,
    conversionFromStart: ratio(count, counts[0]),
    conversionFromPrevious: index === 0 ? ratio(count, count) : ratio(count, counts[index - 1]),
    medianTimeFromPreviousMs: transitionTime(element.medianTransTimes, index),
    averageTimeFromPreviousMs: transitionTime(element.avgTransTimes, index)
  }))
  const entered = counts[0] ?? 0
  const converted = counts.length === 0 ? 0 : counts[counts.length - 1]!
  return { group: groupLabel(element.groupValue), entered, converted, conversion: ratio(converted, entered), steps }
}

/** `stepLabels` name the steps when Amplitude returned no funnel at all (nobody entered). */
export const toFunnelResult = (data: ReadonlyArray<FunnelElement>, stepLabels: ReadonlyArray<string>): FunnelResult => {
  const groups = data.map((element) => toGroup(element, stepLabels))
  const first = groups[0] ?? {
    group: null,
    entered: 0,
    converted: 0,
    conversion: null,
    steps: stepLabels.map((label) => ({
      label,
      count: 0,
      conversionFromStart: null,
      conversionFromPrevious: null,
      medianTimeFromPreviousMs: null,
      averageTimeFromPreviousMs: null
    }))
  }
  return { ...first, groups }
}

export const funnelParams = (query: FunnelQuery): Array<readonly [string, string]> => {
  if (query.steps.length < 2) throw new RangeError("A funnel needs at least two steps")
  const events = query.steps.map((step) => eventJson(step))
  const segment = [...(query.segment ?? []), ...events.flatMap((event) => event.userConditions)]
  return [
    ...events.map(({ e }) => ["e", JSON.stringify(e)] as const),
    ["start", compactDay(query.start)],
    ["end", compactDay(query.end)],
    ...(query.mode === undefined ? [] : [["mode", query.mode] as const]),
    ...(query.users === undefined ? [] : [["n", query.users] as const]),
    ...(query.conversionWindow === undefined
      ? []
      : [["cs", String(Math.floor(Duration.toSeconds(Duration.decode(query.conversionWindow))))] as const]),
    ...(segment.length > 0 ? [["s", JSON.stringify(segment)] as const] : [])
  ]
}

/** Query cost: days × conditions × (2 per step + 4 per group-by per step). */
export const funnelCost = (query: FunnelQuery): number => {
  const userFilters = query.steps.reduce(
    (n, step) => n + (step.filters ?? []).filter((f) => f.type === "user").length,
    0
  )
  const groupBys = query.steps.reduce((n, step) => n + (step.groupBy?.length ?? 0), 0)
  return daysInRange(query.start, query.end) * conditionCount((query.segment?.length ?? 0) + userFilters) *
    (2 * query.steps.length + 4 * groupBys)
}

/** `GET /api/2/funnels`. */
export const funnel = analyticsCall((query: FunnelQuery) => ({
  request: { endpoint: "/api/2/funnels", urlParams: funnelParams(query), cost: funnelCost(query) },
  reply: FunnelReply,
  refused: "Amplitude refused the funnel query",
  map: (decoded) => toFunnelResult(decoded.data, query.steps.map((step) => step.eventType))
}))
