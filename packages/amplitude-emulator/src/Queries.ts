import { dayRange, daysBetween, fromCompactDay, monthStart, weekStart } from "./Dates.js"
import { isRecord, parseJson } from "./Http.js"
import type { Occurrence, ProjectData, PropertyValue, User } from "./Seed.js"

/** A query parameter problem; answered as 400 with Amplitude's JSON error shape. */
export class InvalidQuery {
  constructor(readonly details: string) {}
}

export interface EventFilter {
  readonly type: "event" | "user"
  readonly key: string
  readonly op: string
  readonly values: ReadonlyArray<string>
}

export interface EventGroupBy {
  readonly type: "event" | "user"
  readonly value: string
}

export interface EventQuery {
  readonly eventType: string
  readonly filters: ReadonlyArray<EventFilter>
  readonly groupBy: ReadonlyArray<EventGroupBy>
}

export interface Condition {
  readonly prop: string
  readonly op: string
  readonly values: ReadonlyArray<string>
}

/** One `s` parameter: its conditions all apply (AND). */
export type Segment = ReadonlyArray<Condition>

export type Interval = 1 | 7 | 30

export interface Bucket {
  readonly label: string
  readonly days: ReadonlyArray<string>
}

const OPERATORS = new Set([
  "is",
  "is not",
  "contains",
  "does not contain",
  "less",
  "less or equal",
  "greater",
  "greater or equal"
])

const COHORT_PROPERTY = "userdata_cohort"

export const matchValue = (actual: PropertyValue | undefined, op: string, values: ReadonlyArray<string>): boolean => {
  const text = actual === undefined ? undefined : String(actual)
  switch (op) {
    case "is":
      return text !== undefined && values.includes(text)
    case "is not":
      return text === undefined || !values.includes(text)
    case "contains":
      return text !== undefined && values.some((v) => text.includes(v))
    case "does not contain":
      return text === undefined || !values.some((v) => text.includes(v))
    default: {
      const number = Number(actual)
      const bound = Number(values[0])
      if (actual === undefined || Number.isNaN(number) || Number.isNaN(bound)) return false
      if (op === "less") return number < bound
      if (op === "less or equal") return number <= bound
      if (op === "greater") return number > bound
      return number >= bound
    }
  }
}

/** `country`, `gp:plan` or `plan` → the stored user property key, if the project has it. */
export const resolveUserProperty = (data: ProjectData, name: string): string | undefined => {
  if (data.userProperties.includes(name)) return name
  if (data.userProperties.includes(`gp:${name}`)) return `gp:${name}`
  return undefined
}

const stringArray = (value: unknown): value is ReadonlyArray<string> =>
  Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number")

export const parseEvent = (data: ProjectData, raw: string | null, name = "e"): EventQuery => {
  if (raw === null) throw new InvalidQuery(`Missing required parameter ${name}`)
  const value = parseJson(raw)
  if (!isRecord(value) || typeof value["event_type"] !== "string" || value["event_type"] === "") {
    throw new InvalidQuery(`Invalid event definition in ${name}`)
  }
  if (value["event_type"] === "Any Active Event" || value["event_type"] === "Any Event") {
    throw new InvalidQuery(`Invalid event type ${value["event_type"]}; use _active or _all`)
  }
  const filters: Array<EventFilter> = []
  for (const filter of Array.isArray(value["filters"]) ? value["filters"] : []) {
    if (
      !isRecord(filter) || (filter["subprop_type"] !== "event" && filter["subprop_type"] !== "user") ||
      typeof filter["subprop_key"] !== "string" || typeof filter["subprop_op"] !== "string" ||
      !stringArray(filter["subprop_value"])
    ) throw new InvalidQuery(`Invalid filter in ${name}`)
    if (!OPERATORS.has(filter["subprop_op"])) throw new InvalidQuery(`Invalid operator ${filter["subprop_op"]}`)
    let key = filter["subprop_key"]
    if (filter["subprop_type"] === "user") {
      const resolved = resolveUserProperty(data, key)
      if (resolved === undefined) throw new InvalidQuery(`Invalid user property ${key}`)
      key = resolved
    }
    filters.push({
      type: filter["subprop_type"],
      key,
      op: filter["subprop_op"],
      values: filter["subprop_value"].map(String)
    })
  }
  const groupBy: Array<EventGroupBy> = []
  for (const group of Array.isArray(value["group_by"]) ? value["group_by"] : []) {
    if (
      !isRecord(group) || (group["type"] !== "event" && group["type"] !== "user") || typeof group["value"] !== "string"
    ) {
      throw new InvalidQuery(`Invalid group_by in ${name}`)
    }
    let property = group["value"]
    if (group["type"] === "user") {
      const resolved = resolveUserProperty(data, property)
      if (resolved === undefined) throw new InvalidQuery(`Invalid user property ${property}`)
      property = resolved
    }
    groupBy.push({ type: group["type"], value: property })
  }
  return { eventType: value["event_type"], filters, groupBy }
}

export const parseSegments = (data: ProjectData, raws: ReadonlyArray<string>): Array<Segment> =>
  raws.map((raw) => {
    const value = parseJson(raw)
    if (!Array.isArray(value)) throw new InvalidQuery("Invalid segment definition")
    return value.map((condition): Condition => {
      if (!isRecord(condition) || typeof condition["prop"] !== "string" || !stringArray(condition["values"])) {
        throw new InvalidQuery("Invalid segment definition")
      }
      const op = typeof condition["op"] === "string" ? condition["op"] : "is"
      if (!OPERATORS.has(op)) throw new InvalidQuery(`Invalid operator ${op}`)
      const values = condition["values"].map(String)
      if (condition["prop"] === COHORT_PROPERTY) {
        if (op !== "is" && op !== "is not") throw new InvalidQuery(`Invalid operator ${op} for ${COHORT_PROPERTY}`)
        const unknown = values.find((id) => !data.cohorts.some((c) => c.id === id))
        if (unknown !== undefined) throw new InvalidQuery(`Invalid cohort ${unknown}`)
        return { prop: COHORT_PROPERTY, op, values }
      }
      const prop = resolveUserProperty(data, condition["prop"])
      if (prop === undefined) throw new InvalidQuery(`Invalid user property ${condition["prop"]}`)
      return { prop, op, values }
    })
  })

/** Users of a segment; `undefined` segment = all users. */
export const segmentUsers = (data: ProjectData, segment: Segment | undefined): Set<string> => {
  const members = (condition: Condition) => {
    const ids = new Set(data.cohorts.filter((c) => condition.values.includes(c.id)).flatMap((c) => c.userIds))
    return (user: User) => (condition.op === "is") === ids.has(user.userId)
  }
  const tests = (segment ?? []).map((condition) =>
    condition.prop === COHORT_PROPERTY
      ? members(condition)
      : (user: User) => matchValue(user.properties[condition.prop], condition.op, condition.values)
  )
  return new Set(data.users.filter((user) => tests.every((test) => test(user))).map((u) => u.userId))
}

export const parseRange = (query: URLSearchParams): { start: string; end: string; days: Array<string> } => {
  const start = fromCompactDay(query.get("start") ?? "")
  const end = fromCompactDay(query.get("end") ?? "")
  if (start === undefined || end === undefined) throw new InvalidQuery("start and end must be dates as YYYYMMDD")
  if (end < start) throw new InvalidQuery("end must not be before start")
  if (daysBetween(start, end) >= 365) throw new InvalidQuery("Daily queries are limited to 365 days")
  return { start, end, days: dayRange(start, end) }
}

export const parseInterval = (query: URLSearchParams): Interval => {
  const raw = query.get("i") ?? "1"
  if (raw === "1" || raw === "7" || raw === "30") return Number(raw) as Interval
  throw new InvalidQuery(`Unsupported interval i=${raw} (the emulator serves 1, 7 and 30)`)
}

/** Daily buckets, or weeks starting on Monday (i=7), or calendar months (i=30); labels are bucket starts. */
export const buckets = (days: ReadonlyArray<string>, interval: Interval): Array<Bucket> => {
  if (interval === 1) return days.map((day) => ({ label: day, days: [day] }))
  const byLabel = new Map<string, Array<string>>()
  for (const day of days) {
    const label = interval === 7 ? weekStart(day) : monthStart(day)
    byLabel.set(label, [...(byLabel.get(label) ?? []), day])
  }
  return [...byLabel].map(([label, ds]) => ({ label, days: ds }))
}

export const parseLimit = (query: URLSearchParams): number => {
  const raw = query.get("limit")
  if (raw === null) return 100
  const limit = Number(raw)
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidQuery("limit must be a positive integer")
  return Math.min(limit, 1000)
}

const userIndexes = new WeakMap<ProjectData, ReadonlyMap<string, User>>()

export const usersById = (data: ProjectData): ReadonlyMap<string, User> => {
  let index = userIndexes.get(data)
  if (index === undefined) {
    index = new Map(data.users.map((u) => [u.userId, u]))
    userIndexes.set(data, index)
  }
  return index
}

/** Occurrences of an event type (`_active`/`_all` = every event), filters applied. */
export const eventOccurrences = (data: ProjectData, event: EventQuery): Array<Occurrence> => {
  const all = event.eventType === "_active" || event.eventType === "_all"
  const users = usersById(data)
  return data.events
    .filter((e) => all || e.name === event.eventType)
    .flatMap((e) => e.occurrences)
    .filter((occurrence) =>
      event.filters.every((filter) =>
        matchValue(
          filter.type === "event"
            ? occurrence.properties[filter.key]
            : users.get(occurrence.userId)?.properties[filter.key],
          filter.op,
          filter.values
        )
      )
    )
}

export const propertyOf = (data: ProjectData, occurrence: Occurrence, group: EventGroupBy): PropertyValue | undefined =>
  group.type === "event"
    ? occurrence.properties[group.value]
    : usersById(data).get(occurrence.userId)?.properties[group.value]

/**
 * Conditions for the query-cost formula: segments + conditions within them + 4 per group-by,
 * at least 1.
 */
export const conditionCount = (segments: ReadonlyArray<Segment>, groupBys: number): number =>
  Math.max(1, segments.length + segments.reduce((sum, s) => sum + s.length, 0) + 4 * groupBys)

/** The parameters the segmented Dashboard queries (segmentation, funnels, users) share. */
export interface SegmentedRange {
  /** `s`. */
  readonly segments: ReadonlyArray<Segment>
  /** `g`: a user property key. */
  readonly groupBy: string | undefined
  readonly interval: Interval
  readonly days: ReadonlyArray<string>
  readonly limit: number
}

/** Reads `g`, `s`, `i`, `start`/`end` and `limit`, in that order (the first invalid one is reported). */
export const parseSegmentedRange = (data: ProjectData, query: URLSearchParams): SegmentedRange => {
  const g = query.get("g")
  const groupBy = g === null ? undefined : resolveUserProperty(data, g)
  if (g !== null && groupBy === undefined) throw new InvalidQuery(`Invalid user property ${g}`)
  return {
    segments: parseSegments(data, query.getAll("s")),
    groupBy,
    interval: parseInterval(query),
    days: parseRange(query).days,
    limit: parseLimit(query)
  }
}

/** Days × conditions, a top-level `g` counting as a group-by: the query-cost factors the segmented queries share. */
export const segmentedRangeCost = (query: SegmentedRange): number =>
  query.days.length * conditionCount(query.segments, query.groupBy === undefined ? 0 : 1)

const QUERY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/** Top-level diagnostic keys of the query engine (docs/amplitude-api.md#reading-query-answers). */
export const diagnostics = (
  queryType: "MULTI_SEGMENTATION" | "FUNNEL" | "QUERY_GRAPH",
  cost: number,
  now: number,
  seed: number,
  cached = false
) => {
  let state = seed >>> 0
  let queryId = ""
  for (let i = 0; i < 10; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    queryId += QUERY_ID_ALPHABET[state % QUERY_ID_ALPHABET.length]
  }
  return {
    timeComputed: now,
    wasCached: cached,
    cacheFreshness: "FRESH",
    allQueriesCached: cached,
    novaRuntime: 180 + (seed % 90),
    novaRequestDuration: 210 + (seed % 120),
    novaCost: cached ? 0 : cost,
    throttleTime: 0,
    minSampleRate: 1,
    transformationIds: [],
    backend: "novaV2",
    queryIds: [queryId],
    numQueries: 1,
    perQueryMetadata: [{ queryId, queryType, cached }]
  }
}

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2)
}

export const mean = (values: ReadonlyArray<number>): number =>
  values.length === 0 ? 0 : Math.round(values.reduce((a, b) => a + b, 0) / values.length)
