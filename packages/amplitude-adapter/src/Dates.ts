/**
 * A calendar day of the Amplitude project's time zone: `"YYYY-MM-DD"`, or a `Date` whose UTC date is the
 * day. Amplitude reads query dates in the project's time zone, so callers pick the day, not the instant.
 */
export type DayInput = Date | string

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/
const DAY_MS = 86_400_000

/** `"YYYY-MM-DD"`; throws on anything else (a programming error, not an Amplitude failure). */
export const toDay = (input: DayInput): string => {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new RangeError("Invalid Date given as a query day")
    return input.toISOString().slice(0, 10)
  }
  const match = DAY.exec(input)
  if (match === null || new Date(`${input}T00:00:00Z`).toISOString().slice(0, 10) !== input) {
    throw new RangeError(`Query day must be YYYY-MM-DD, got ${JSON.stringify(input)}`)
  }
  return input
}

/** `"2026-07-01"` → `"20260701"`, the Dashboard REST format. */
export const compactDay = (input: DayInput): string => toDay(input).replaceAll("-", "")

/** Days from `start` to `end`, both included; at least 1. */
export const daysInRange = (start: DayInput, end: DayInput): number => {
  const from = Date.parse(`${toDay(start)}T00:00:00Z`)
  const to = Date.parse(`${toDay(end)}T00:00:00Z`)
  if (to < from) throw new RangeError(`Query range ends (${toDay(end)}) before it starts (${toDay(start)})`)
  return Math.round((to - from) / DAY_MS) + 1
}

/** The ISO 8601 form Amplitude's annotation examples use: `2026-06-15T07:00:00+00:00`. */
export const isoInstant = (date: Date): string => `${date.toISOString().slice(0, 19)}+00:00`
