import {
  type AmplitudeCallFailure,
  type ConnectedProject,
  type EventSpec,
  type PropertyFilter,
  Segment,
  type SegmentationMetric,
  type SeriesResult
} from "@findry/amplitude-adapter"
import type { MappingParams } from "@findry/domain"
import { Duration, Effect, Option } from "effect"
import { type DayRange, daysIn } from "./Verdicts.js"

/**
 * A remark on a measurement. `blocking` notes (not connected, unknown event, missing cohort, Amplitude trouble)
 * mean the values cannot be trusted yet: no verdict is assigned and the sweep tries again later. Other notes
 * only explain a value (e.g. a scope that could not be applied, or missing data, which makes the verdict
 * inconclusive).
 */
export interface Note {
  readonly text: string
  readonly blocking: boolean
}

export const blocking = (text: string): Note => ({ text, blocking: true })
export const remark = (text: string): Note => ({ text, blocking: false })

/** Lookups a measurement shares with the other measurements of the same workspace (cached by the caller). */
export interface ProjectLookups {
  /** Names of the project's visible events (`GET /api/2/events/list`). */
  readonly eventNames: Effect.Effect<ReadonlySet<string>, AmplitudeCallFailure>
  /** The cohort's current size (null until computed); `None` when the cohort does not exist (any more). */
  readonly cohortSize: (cohortId: string) => Effect.Effect<Option.Option<number | null>, AmplitudeCallFailure>
}

/** Lookups on one connection, each read from Amplitude at most once (the event list and the cohort list). */
export const projectLookups = (connection: ConnectedProject): Effect.Effect<ProjectLookups> =>
  Effect.gen(function*() {
    const eventNames = yield* Effect.cached(
      Effect.map(
        connection.listEvents(),
        (events): ReadonlySet<string> => new Set(events.filter((e) => !e.deleted).map((e) => e.name))
      )
    )
    const cohorts = yield* Effect.cached(
      Effect.map(connection.listCohorts(), (list) => new Map(list.map((cohort) => [cohort.id, cohort.size])))
    )
    return {
      eventNames,
      cohortSize: (cohortId) =>
        Effect.map(cohorts, (sizes) => sizes.has(cohortId) ? Option.some(sizes.get(cohortId) ?? null) : Option.none())
    }
  })

export interface MeasureRequest {
  readonly mapping: MappingParams
  /** Undefined when no day of the window is over yet. */
  readonly baseline: DayRange | undefined
  readonly observed: DayRange | undefined
  /** The bet's cohort scope. */
  readonly cohortId: string | null
  /**
   * For point-in-time metrics (cohort size): the value recorded on or before the ship date by an earlier run,
   * and whether this measurement itself happens on or before the ship date.
   */
  readonly earlierSample: Effect.Effect<number | null>
  readonly beforeShip: boolean
}

export interface Measured {
  readonly baseline: number | null
  readonly observed: number | null
  /** The point-in-time value read now (cohort size), kept as history for later baselines. */
  readonly sample: number | null
  readonly notes: ReadonlyArray<Note>
}

const empty = (notes: ReadonlyArray<Note>): Measured => ({ baseline: null, observed: null, sample: null, notes })

const perWindow = <E>(
  request: MeasureRequest,
  value: (range: DayRange) => Effect.Effect<number | null, E>
): Effect.Effect<{ baseline: number | null; observed: number | null }, E> =>
  Effect.all({
    baseline: request.baseline === undefined ? Effect.succeed(null) : value(request.baseline),
    observed: request.observed === undefined ? Effect.succeed(null) : value(request.observed)
  }, { concurrency: "unbounded" })

const mean = (values: ReadonlyArray<number>): number | null =>
  values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length

const daysWithin = (result: SeriesResult, range: DayRange) =>
  result.days.filter((day) => day.date >= range.start && day.date <= range.end)

const cohortSegment = (cohortId: string | null) => cohortId === null ? [] : [Segment.cohort(cohortId)]

/** Unknown event names of the mapping, as blocking notes (`event not recognized: {name}`). */
const unrecognized = (lookups: ProjectLookups, names: ReadonlyArray<string>) =>
  Effect.map(
    lookups.eventNames,
    (known) => names.filter((name) => !known.has(name)).map((name) => blocking(`event not recognized: ${name}`))
  )

const eventSpec = (mapping: Extract<MappingParams, { kind: "event" }>): EventSpec => ({
  eventType: mapping.event,
  filters: (mapping.filters ?? []).map((filter): PropertyFilter => ({
    type: filter.type ?? "event",
    key: filter.property,
    op: "is",
    values: [filter.value]
  }))
})

const SEGMENTATION_METRIC = {
  count: "totals",
  uniques: "uniques",
  sum: "sums",
  average: "value_avg"
} as const satisfies Record<string, SegmentationMetric>

const measureEvent = (
  connection: ConnectedProject,
  request: MeasureRequest,
  mapping: Extract<MappingParams, { kind: "event" }>
) => {
  const event = eventSpec(mapping)
  const segment = cohortSegment(request.cohortId)
  const segmentation = (range: DayRange, metric: SegmentationMetric) =>
    connection.segmentation({
      event,
      metric,
      ...(mapping.property === undefined ? {} : { property: { type: "event", key: mapping.property } }),
      start: range.start,
      end: range.end,
      segment
    }).pipe(Effect.map((result) => result.total))
  const value = (range: DayRange) =>
    mapping.aggregation === "average_per_user"
      ? Effect.map(
        Effect.all([segmentation(range, "sums"), segmentation(range, "uniques")], { concurrency: "unbounded" }),
        ([sum, users]) => sum === null || users === null || users === 0 ? null : sum / users
      )
      : segmentation(range, SEGMENTATION_METRIC[mapping.aggregation])
  return perWindow(request, value)
}

const measureFunnel = (
  connection: ConnectedProject,
  request: MeasureRequest,
  mapping: Extract<MappingParams, { kind: "funnel" }>
) =>
  perWindow(request, (range) =>
    connection.funnel({
      steps: mapping.events.map((eventType) => ({ eventType })),
      start: range.start,
      end: range.end,
      conversionWindow: Duration.days(mapping.conversionWindowDays),
      segment: cohortSegment(request.cohortId)
    }).pipe(Effect.map((result) => result.conversion === null ? null : result.conversion * 100)))

const measureTemplate = (
  connection: ConnectedProject,
  request: MeasureRequest,
  mapping: Extract<MappingParams, { kind: "template" }>
) => {
  const segment = cohortSegment(request.cohortId)
  switch (mapping.template) {
    case "active_users":
      return perWindow(request, (range) =>
        Effect.map(
          connection.users({ metric: "active", start: range.start, end: range.end, segment }),
          (result) => mean(daysWithin(result, range).flatMap((day) => day.value === null ? [] : [day.value]))
        ))
    case "new_users":
      return perWindow(request, (range) =>
        Effect.map(
          connection.users({ metric: "new", start: range.start, end: range.end, segment }),
          (result) => daysWithin(result, range).reduce((sum, day) => sum + (day.value ?? 0), 0)
        ))
    case "average_session_length":
      return perWindow(request, (range) =>
        Effect.map(
          connection.averageSessionLength({ start: range.start, end: range.end }),
          // Days without sessions answer 0 (docs/amplitude-api.md#users-and-sessions): they carry no length.
          (result) =>
            mean(daysWithin(result, range).flatMap((day) => day.value === null || day.value <= 0 ? [] : [day.value]))
        ))
  }
}

const measureChart = (
  connection: ConnectedProject,
  request: MeasureRequest,
  mapping: Extract<MappingParams, { kind: "chart" }>
): Effect.Effect<Measured, AmplitudeCallFailure> =>
  Effect.gen(function*() {
    const notes: Array<Note> = request.cohortId === null
      ? []
      : [remark(`cohort scope not applied: saved chart ${mapping.chartId} keeps its own segments`)]
    const chart = yield* connection.savedChart(mapping.chartId).pipe(
      Effect.map(Option.some),
      Effect.catchTag("AmplitudeRejected", () => Effect.succeed(Option.none()))
    )
    if (Option.isNone(chart)) return empty([...notes, blocking(`chart not found: ${mapping.chartId}`)])
    if (chart.value._tag !== "Series") {
      return empty([
        ...notes,
        blocking(`chart ${mapping.chartId} is not a time series: map an event segmentation chart`)
      ])
    }
    const series = chart.value
    const valueIn = (range: DayRange | undefined) => {
      if (range === undefined) return null
      const value = mean(daysWithin(series, range).flatMap((day) => day.value === null ? [] : [day.value]))
      if (value === null) notes.push(remark(`chart ${mapping.chartId} has no data from ${range.start} to ${range.end}`))
      return value
    }
    return { baseline: valueIn(request.baseline), observed: valueIn(request.observed), sample: null, notes }
  })

const measureCohortSize = (
  lookups: ProjectLookups,
  request: MeasureRequest,
  mapping: Extract<MappingParams, { kind: "cohort_size" }>
): Effect.Effect<Measured, AmplitudeCallFailure> =>
  Effect.gen(function*() {
    const size = yield* lookups.cohortSize(mapping.cohortId)
    if (Option.isNone(size)) return empty([blocking(`cohort not found: ${mapping.cohortId}`)])
    if (size.value === null) return empty([blocking(`cohort ${mapping.cohortId} has no computed size yet`)])
    const notes: Array<Note> = request.cohortId === null
      ? []
      : [remark("cohort scope not applied: the metric is itself a cohort's size")]
    const current = size.value
    const earlier = request.beforeShip ? current : yield* request.earlierSample
    if (earlier === null) {
      notes.push(remark(
        "no baseline: Amplitude keeps no history of cohort sizes, and no size was recorded on or before the ship " +
          "date (pull metrics on the ship date to record one)"
      ))
    }
    return {
      baseline: earlier,
      observed: request.observed === undefined ? null : current,
      sample: current,
      notes
    }
  })

/**
 * The metric's value over the baseline and observed windows, read from Amplitude with the bet's cohort as
 * segment (`userdata_cohort`). Event names and the cohort are checked first: an unknown one gives a blocking
 * note and no query.
 */
export const measureMapping = (
  connection: ConnectedProject,
  lookups: ProjectLookups,
  request: MeasureRequest
): Effect.Effect<Measured, AmplitudeCallFailure> =>
  Effect.gen(function*() {
    const { mapping } = request
    const eventNames = mapping.kind === "event" ? [mapping.event] : mapping.kind === "funnel" ? mapping.events : []
    const problems = eventNames.length === 0 ? [] : yield* unrecognized(lookups, eventNames)
    const scoped = request.cohortId !== null && mapping.kind !== "chart" && mapping.kind !== "cohort_size"
    if (scoped && Option.isNone(yield* lookups.cohortSize(request.cohortId!))) {
      problems.push(blocking(`cohort not found: ${request.cohortId}`))
    }
    if (problems.length > 0) return empty(problems)
    switch (mapping.kind) {
      case "event":
        return { ...(yield* measureEvent(connection, request, mapping)), sample: null, notes: [] }
      case "funnel":
        return { ...(yield* measureFunnel(connection, request, mapping)), sample: null, notes: [] }
      case "template": {
        const notes = request.cohortId !== null && mapping.template === "average_session_length"
          ? [remark("cohort scope not applied: Amplitude's session length endpoint takes no segment")]
          : []
        return { ...(yield* measureTemplate(connection, request, mapping)), sample: null, notes }
      }
      case "chart":
        return yield* measureChart(connection, request, mapping)
      case "cohort_size":
        return yield* measureCohortSize(lookups, request, mapping)
    }
  })

/** Days the observed window covers so far, for the "window open" note. */
export const coverage = (observed: DayRange | undefined, timeframeDays: number) =>
  observed === undefined ? 0 : Math.min(timeframeDays, daysIn(observed))
