import {
  type Bucket,
  buckets,
  eventOccurrences,
  type EventQuery,
  InvalidQuery,
  parseEvent,
  parseSegmentedRange,
  propertyOf,
  type SegmentedRange,
  segmentedRangeCost,
  segmentUsers,
  usersById
} from "./Queries.js"
import type { ProjectData } from "./Seed.js"

export const SEGMENTATION_METRICS = ["uniques", "totals", "pct_dau", "average", "sums", "value_avg"] as const

export type SegmentationMetric = typeof SEGMENTATION_METRICS[number]

const PROPERTY_METRICS: ReadonlyArray<SegmentationMetric> = ["sums", "value_avg"]

export interface SegmentationQuery extends SegmentedRange {
  readonly events: ReadonlyArray<EventQuery>
  readonly metric: SegmentationMetric
}

export type SeriesLabel = 0 | string | readonly [number, string]

export interface Series {
  readonly values: ReadonlyArray<number>
  readonly collapsed: number
  readonly label: SeriesLabel
  readonly segmentIndex: number
  readonly eventIndex: number
}

export interface SegmentationResult {
  readonly xValues: ReadonlyArray<string>
  /** Series with at least one matching event in the range; empty when nothing matched. */
  readonly series: ReadonlyArray<Series>
}

export const parseSegmentationQuery = (data: ProjectData, query: URLSearchParams): SegmentationQuery => {
  const metric = (query.get("m") ?? "uniques") as SegmentationMetric
  if (query.get("m") === "histogram" || query.get("m") === "formula") {
    throw new InvalidQuery(`m=${query.get("m")} is not served by the emulator`)
  }
  if (!SEGMENTATION_METRICS.includes(metric)) throw new InvalidQuery(`Invalid metric m=${metric}`)
  const events = [parseEvent(data, query.get("e"))]
  if (query.get("e2") !== null) events.push(parseEvent(data, query.get("e2"), "e2"))
  if (PROPERTY_METRICS.includes(metric) && events.some((e) => e.groupBy.length === 0)) {
    throw new InvalidQuery(`m=${metric} needs a numeric property as group_by in e`)
  }
  return { events, metric, ...parseSegmentedRange(data, query) }
}

/** Query cost: days × conditions × (events + 4 per `e.group_by` per event). */
export const segmentationCost = (query: SegmentationQuery): number =>
  segmentedRangeCost(query) * query.events.reduce((sum, e) => sum + 1 + 4 * e.groupBy.length, 0)

interface Accumulator {
  totals: number
  readonly users: Set<string>
  sum: number
  count: number
}

const accumulator = (): Accumulator => ({ totals: 0, users: new Set(), sum: 0, count: 0 })

const metricValue = (metric: SegmentationMetric, acc: Accumulator, active: number): number => {
  switch (metric) {
    case "uniques":
      return acc.users.size
    case "totals":
      return acc.totals
    case "pct_dau":
      return active === 0 ? 0 : acc.users.size / active
    case "average":
      return acc.users.size === 0 ? 0 : acc.totals / acc.users.size
    case "sums":
      return acc.sum
    case "value_avg":
      return acc.count === 0 ? 0 : acc.sum / acc.count
  }
}

const activeUsers = (data: ProjectData, members: Set<string>, bucketOf: Map<string, number>, count: number) => {
  const perBucket = Array.from({ length: count }, () => new Set<string>())
  const range = new Set<string>()
  for (const event of data.events) {
    for (const occurrence of event.occurrences) {
      const index = bucketOf.get(occurrence.day)
      if (index === undefined || !members.has(occurrence.userId)) continue
      perBucket[index]!.add(occurrence.userId)
      range.add(occurrence.userId)
    }
  }
  return { perBucket: perBucket.map((s) => s.size), range: range.size }
}

export const computeSegmentation = (data: ProjectData, query: SegmentationQuery): SegmentationResult => {
  const bucketList: Array<Bucket> = buckets(query.days, query.interval)
  const bucketOf = new Map(bucketList.flatMap((b, i) => b.days.map((day) => [day, i] as const)))
  const users = usersById(data)
  const propertyMetric = PROPERTY_METRICS.includes(query.metric)
  const series: Array<Series> = []
  const segments = query.segments.length === 0 ? [undefined] : query.segments

  segments.forEach((segment, segmentIndex) => {
    const members = segmentUsers(data, segment)
    const active = query.metric === "pct_dau" ? activeUsers(data, members, bucketOf, bucketList.length) : undefined
    query.events.forEach((event, eventIndex) => {
      const groupBys = propertyMetric ? [] : event.groupBy
      const property = propertyMetric ? event.groupBy[0] : undefined
      const groups = new Map<string, { buckets: Array<Accumulator>; range: Accumulator }>()
      for (const occurrence of eventOccurrences(data, event)) {
        const index = bucketOf.get(occurrence.day)
        if (index === undefined || !members.has(occurrence.userId)) continue
        const parts = groupBys.map((group) => String(propertyOf(data, occurrence, group) ?? "(none)"))
        if (query.groupBy !== undefined) {
          parts.push(String(users.get(occurrence.userId)?.properties[query.groupBy] ?? "(none)"))
        }
        const key = parts.join("; ")
        let group = groups.get(key)
        if (group === undefined) {
          group = { buckets: bucketList.map(accumulator), range: accumulator() }
          groups.set(key, group)
        }
        const raw = property === undefined ? undefined : propertyOf(data, occurrence, property)
        const value = raw === undefined ? Number.NaN : Number(raw)
        for (const acc of [group.buckets[index]!, group.range]) {
          acc.totals++
          acc.users.add(occurrence.userId)
          if (Number.isFinite(value)) {
            acc.sum += value
            acc.count++
          }
        }
      }
      const grouped = groupBys.length > 0 || query.groupBy !== undefined
      if (!grouped && groups.size === 0) groups.set("", { buckets: bucketList.map(accumulator), range: accumulator() })
      const computed = [...groups].map(([key, group]): Series => ({
        values: group.buckets.map((acc, i) => metricValue(query.metric, acc, active?.perBucket[i] ?? 0)),
        collapsed: metricValue(query.metric, group.range, active?.range ?? 0),
        label: !grouped ? 0 : groupBys.length > 0 ? [segmentIndex, key] : key,
        segmentIndex,
        eventIndex
      }))
      const labelText = (s: Series) => (typeof s.label === "string" ? s.label : s.label === 0 ? "" : s.label[1])
      computed.sort((a, b) => b.collapsed - a.collapsed || labelText(a).localeCompare(labelText(b)))
      series.push(...computed.slice(0, query.limit))
    })
  })
  const matched = series.some((s) => s.values.some((v) => v !== 0) || s.collapsed !== 0)
  return { xValues: bucketList.map((b) => b.label), series: matched ? series : [] }
}
