import { Schema } from "effect"

/** One bucket of a time series. `date` is the bucket's first day, `YYYY-MM-DD`. */
export interface DailyValue {
  readonly date: string
  /** `null` when Amplitude has no value for the bucket and 0 would be wrong (averages, rates). */
  readonly value: number | null
}

/** One line of a chart: the whole query when ungrouped, one group or segment otherwise. */
export interface Series {
  /** Group-by value or segment name; `null` for an ungrouped query. */
  readonly label: string | null
  readonly days: ReadonlyArray<DailyValue>
  /**
   * Amplitude's own figure for the whole range (`seriesCollapsed`), e.g. de-duplicated uniques; `null`
   * when the endpoint has none. Never computed from `days`: summing daily uniques would be wrong.
   */
  readonly total: number | null
}

/** A time-series answer. `days` and `total` are those of the first series, the only one when ungrouped. */
export interface SeriesResult {
  readonly days: ReadonlyArray<DailyValue>
  readonly total: number | null
  readonly series: ReadonlyArray<Series>
}

/** A point: a number (`/api/2/…`), `{"setId","value"}` (saved charts) or null. */
const Point = Schema.Union(
  Schema.Number,
  Schema.Null,
  Schema.Struct({ value: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }) })
)
type Point = typeof Point.Type

export const SeriesData = Schema.Struct({
  series: Schema.optionalWith(Schema.Array(Schema.Array(Point)), { default: () => [] }),
  seriesCollapsed: Schema.optional(Schema.NullOr(Schema.Array(Schema.Array(Point)))),
  seriesLabels: Schema.optional(Schema.NullOr(Schema.Array(Schema.Unknown))),
  seriesMeta: Schema.optional(Schema.NullOr(Schema.Array(Schema.Unknown))),
  xValues: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})
export type SeriesData = typeof SeriesData.Type

export const SeriesReply = Schema.Struct({ data: SeriesData })

const pointValue = (point: Point | undefined): number | null =>
  point === undefined || point === null ? null : typeof point === "number" ? point : point.value

const labelOf = (value: unknown): string | null => {
  if (typeof value === "string") return value
  if (Array.isArray(value) && value.length >= 2 && (typeof value[1] === "string" || typeof value[1] === "number")) {
    return String(value[1])
  }
  return null
}

export interface SeriesOptions {
  /** What a missing point or an empty answer means: 0 for counts, null for averages and rates. */
  readonly missing: 0 | null
  /** Whether `seriesCollapsed` is a meaningful total for this endpoint. */
  readonly collapsedIsTotal: boolean
}

/** Reads every documented and observed variant of the series family (docs/amplitude-api.md#reading-query-answers). */
export const toSeriesResult = (data: SeriesData, options: SeriesOptions): SeriesResult => {
  const dates = data.xValues.map((x) => x.slice(0, 10))
  const labels = data.seriesLabels ?? []
  const meta = data.seriesMeta ?? []
  const series: Array<Series> = data.series.map((points, index) => ({
    label: labelOf(labels[index]) ?? labelOf(meta[index]),
    days: dates.map((date, j) => ({ date, value: pointValue(points[j]) ?? options.missing })),
    total: options.collapsedIsTotal ? pointValue(data.seriesCollapsed?.[index]?.[0]) : null
  }))
  const first = series[0]
  if (first === undefined) {
    const days = dates.map((date) => ({ date, value: options.missing }))
    return { days, total: options.collapsedIsTotal ? options.missing : null, series: [] }
  }
  return { days: first.days, total: first.total, series }
}
