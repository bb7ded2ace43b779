/**
 * The pure outcome rules (docs/product-rules.md): measurement windows around the ship date, variance and the verdict.
 * Days are `YYYY-MM-DD` calendar days (UTC), ranges include both ends.
 */

export type Direction = "increase" | "decrease"
export type MagnitudeUnit = "percent" | "absolute"
export type Verdict = "hit" | "miss" | "inconclusive"

export interface DayRange {
  readonly start: string
  readonly end: string
}

export interface Prediction {
  readonly direction: Direction
  /** Positive: how far the metric should move, in percent of the baseline or in the metric's unit. */
  readonly magnitude: number
  readonly magnitudeUnit: MagnitudeUnit
}

const DAY_MS = 86_400_000

export const addDays = (day: string, days: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10)

export const dayOf = (instant: Date | number): string => new Date(instant).toISOString().slice(0, 10)

/** Days from `start` to `end`, both included (0 when `end` is before `start`). */
export const daysIn = (range: DayRange): number =>
  Math.max(0, Math.round((Date.parse(`${range.end}T00:00:00Z`) - Date.parse(`${range.start}T00:00:00Z`)) / DAY_MS) + 1)

/** Baseline: the `timeframeDays` before the ship date. Observed: the `timeframeDays` from the ship date. */
export const windows = (shipDate: string, timeframeDays: number): { baseline: DayRange; observed: DayRange } => ({
  baseline: { start: addDays(shipDate, -timeframeDays), end: addDays(shipDate, -1) },
  observed: { start: shipDate, end: addDays(shipDate, timeframeDays - 1) }
})

/** The observed window has closed once its last day is over: from `shipDate + timeframeDays` on. */
export const windowClosed = (shipDate: string, timeframeDays: number, today: string): boolean =>
  today >= addDays(shipDate, timeframeDays)

/** The part of `range` that is over by `today` (complete days only); `undefined` when none of it is. */
export const elapsed = (range: DayRange, today: string): DayRange | undefined => {
  const lastComplete = addDays(today, -1)
  if (range.start > lastComplete) return undefined
  return { start: range.start, end: range.end < lastComplete ? range.end : lastComplete }
}

export interface Variance {
  readonly varianceAbs: number | null
  /** Relative to the baseline's size; null when the baseline is 0 (or a value is missing). */
  readonly variancePct: number | null
}

export const variance = (baseline: number | null, observed: number | null): Variance => {
  if (baseline === null || observed === null) return { varianceAbs: null, variancePct: null }
  const varianceAbs = observed - baseline
  return { varianceAbs, variancePct: baseline === 0 ? null : (varianceAbs / Math.abs(baseline)) * 100 }
}

const EPSILON = 1e-9

/**
 * `hit`: the metric moved in the predicted direction by at least the predicted magnitude (percent magnitudes
 * against `variancePct`, absolute ones against `varianceAbs`). `inconclusive`: it moved in the predicted
 * direction but by less, or the data is insufficient (a value is missing, or a percent prediction on a zero
 * baseline). `miss`: no change, or a change the other way.
 */
export const verdictOf = (prediction: Prediction, baseline: number | null, observed: number | null): Verdict => {
  const { varianceAbs, variancePct } = variance(baseline, observed)
  if (varianceAbs === null) return "inconclusive"
  const change = prediction.direction === "increase" ? varianceAbs : -varianceAbs
  if (change <= 0) return "miss"
  if (prediction.magnitudeUnit === "percent") {
    if (variancePct === null) return "inconclusive"
    return Math.abs(variancePct) + EPSILON >= prediction.magnitude ? "hit" : "inconclusive"
  }
  return Math.abs(varianceAbs) + EPSILON >= prediction.magnitude ? "hit" : "inconclusive"
}
