import { formatShortDay } from "./Dates.js"
import {
  buckets,
  eventOccurrences,
  type EventQuery,
  InvalidQuery,
  mean,
  median,
  parseEvent,
  parseSegmentedRange,
  type SegmentedRange,
  segmentedRangeCost,
  segmentUsers,
  usersById
} from "./Queries.js"
import type { Occurrence, ProjectData } from "./Seed.js"

export interface FunnelQuery extends SegmentedRange {
  readonly steps: ReadonlyArray<EventQuery>
  readonly mode: "ordered" | "unordered"
  /** Conversion window in seconds. */
  readonly conversionSeconds: number
}

export const DEFAULT_CONVERSION_SECONDS = 2_592_000

export const parseFunnelQuery = (data: ProjectData, query: URLSearchParams): FunnelQuery => {
  const raws = query.getAll("e")
  if (raws.length < 2) throw new InvalidQuery("A funnel needs at least two e parameters")
  const steps = raws.map((raw, i) => parseEvent(data, raw, `e[${i}]`))
  const mode = query.get("mode") ?? "ordered"
  if (mode === "sequential") throw new InvalidQuery("mode=sequential is not served by the emulator")
  if (mode !== "ordered" && mode !== "unordered") throw new InvalidQuery(`Invalid mode ${mode}`)
  const cs = query.get("cs")
  const conversionSeconds = cs === null ? DEFAULT_CONVERSION_SECONDS : Number(cs)
  if (!Number.isInteger(conversionSeconds) || conversionSeconds <= 0) {
    throw new InvalidQuery("cs must be a positive number of seconds")
  }
  return {
    steps,
    mode,
    conversionSeconds: mode === "unordered" ? Math.floor(conversionSeconds / 86_400) * 86_400 : conversionSeconds,
    ...parseSegmentedRange(data, query)
  }
}

/** Query cost: days × conditions × (2 × steps + 4 per `e.group_by` per step). */
export const funnelCost = (query: FunnelQuery): number =>
  segmentedRangeCost(query) * query.steps.reduce((sum, step) => sum + 2 + 4 * step.groupBy.length, 0)

/** One user's way through the funnel: the time each reached step was done. */
export interface FunnelPath {
  readonly userId: string
  readonly entryDay: string
  readonly times: ReadonlyArray<number>
}

const byUser = (occurrences: ReadonlyArray<Occurrence>) => {
  const map = new Map<string, Array<Occurrence>>()
  for (const occurrence of occurrences) {
    const list = map.get(occurrence.userId)
    if (list === undefined) map.set(occurrence.userId, [occurrence])
    else list.push(occurrence)
  }
  for (const list of map.values()) list.sort((a, b) => a.time - b.time)
  return map
}

/**
 * Entry = the user's earliest step-0 event within the range. Ordered: each later step is the
 * earliest event of that step strictly after the previous step and no later than entry + cs.
 * Unordered: step k counts once steps 1..k each happened within [entry, entry + cs].
 */
export const funnelPaths = (data: ProjectData, query: FunnelQuery, members: Set<string>): Array<FunnelPath> => {
  const inRange = new Set(query.days)
  const perStep = query.steps.map((step) => byUser(eventOccurrences(data, step)))
  const paths: Array<FunnelPath> = []
  for (const [userId, entries] of perStep[0]!) {
    if (!members.has(userId)) continue
    const entry = entries.find((o) => inRange.has(o.day))
    if (entry === undefined) continue
    const deadline = entry.time + query.conversionSeconds * 1000
    const times = [entry.time]
    for (let k = 1; k < query.steps.length; k++) {
      const candidates = perStep[k]!.get(userId) ?? []
      const next = query.mode === "ordered"
        ? candidates.find((o) => o.time > times[k - 1]! && o.time <= deadline)
        : candidates.find((o) => o.time >= entry.time && o.time <= deadline)
      if (next === undefined) break
      times.push(next.time)
    }
    paths.push({ userId, entryDay: entry.day, times })
  }
  return paths
}

const stepLabel = (step: EventQuery) => {
  const values = step.filters.flatMap((f) => f.values)
  return values.length === 0 ? step.eventType : `${step.eventType} (${values.join(", ")})`
}

const transitionTimes = (paths: ReadonlyArray<FunnelPath>, steps: number) =>
  Array.from({ length: steps }, (_, k) =>
    k === 0
      ? paths.filter((p) => p.times.length === steps).map((p) => p.times[steps - 1]! - p.times[0]!)
      : paths.filter((p) => p.times.length > k).map((p) => Math.max(0, p.times[k]! - p.times[k - 1]!)))

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b)

const funnelElement = (
  query: FunnelQuery,
  paths: ReadonlyArray<FunnelPath>,
  segmentIndex: number,
  groupValue: string
) => {
  const steps = query.steps.length
  const reached = (list: ReadonlyArray<FunnelPath>) =>
    Array.from({ length: steps }, (_, k) => list.filter((p) => p.times.length > k).length)
  const raw = reached(paths)
  const times = transitionTimes(paths, steps)
  const bucketList = buckets(query.days, query.interval)
  const perBucket = bucketList.map((bucket) => {
    const days = new Set(bucket.days)
    return paths.filter((p) => days.has(p.entryDay))
  })
  const daily = (f: (values: ReadonlyArray<number>) => number) =>
    perBucket.map((list) => transitionTimes(list, steps).map((values) => (values.length === 0 ? -1 : f(values))))
  const xValues = bucketList.map((b) => b.label)
  const formattedXValues = xValues.map(formatShortDay)
  const counts = (values: ReadonlyArray<number>) => Object.fromEntries(values.map((v, k) => [String(k), v]))
  const dropoff = raw.map((count, k) => (k === 0 ? 0 : raw[k - 1]! - count))
  return {
    meta: { segmentIndex },
    groupValue,
    events: query.steps.map(stepLabel),
    cumulativeRaw: raw,
    cumulative: raw.map((count) => ratio(count, raw[0]!)),
    stepByStep: raw.map((count, k) => (k === 0 ? 1 : ratio(count, raw[k - 1]!))),
    medianTransTimes: times.map(median),
    avgTransTimes: times.map(mean),
    dayFunnels: { xValues, formattedXValues, series: perBucket.map(reached) },
    dayMedianTransTimes: { xValues, formattedXValues, series: daily(median) },
    dayAvgTransTimes: { xValues, formattedXValues, series: daily(mean) },
    stepTransTimeDistribution: {
      segment_index: segmentIndex,
      step_bins: times.map((values, k) => ({
        bins: values.length === 0 ? [] : [{
          start: k === 0 ? 0 : Math.min(...values),
          end: k === 0 ? 1000 : Math.max(...values) + 1,
          bin_dist: {
            tempKey: [],
            uniques: k === 0 ? raw[0]! : values.length,
            sums: 0.0,
            totals: k === 0 ? raw[0]! : values.length
          }
        }]
      }))
    },
    avgPrevStepCounts: raw.map((count) => ({ sums: 0, totals: count })),
    convertedCounts: counts(raw),
    dropoffCounts: counts(dropoff),
    novaSegmentIndex: segmentIndex
  }
}

export type FunnelElement = ReturnType<typeof funnelElement>

/** One element per segment (and per `g` value), each holding the whole funnel; entered-nobody ones dropped. */
export const computeFunnel = (data: ProjectData, query: FunnelQuery): Array<FunnelElement> => {
  const users = usersById(data)
  const segments = query.segments.length === 0 ? [undefined] : query.segments
  return segments.flatMap((segment, segmentIndex) => {
    const paths = funnelPaths(data, query, segmentUsers(data, segment))
    if (query.groupBy === undefined) return paths.length === 0 ? [] : [funnelElement(query, paths, segmentIndex, "")]
    const groups = new Map<string, Array<FunnelPath>>()
    for (const path of paths) {
      const value = String(users.get(path.userId)?.properties[query.groupBy] ?? "(none)")
      groups.set(value, [...(groups.get(value) ?? []), path])
    }
    return [...groups]
      .sort(([a, x], [b, y]) => y.length - x.length || a.localeCompare(b))
      .slice(0, query.limit)
      .map(([value, list]) => funnelElement(query, list, segmentIndex, value))
  })
}
