const DAY_MS = 86_400_000

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/
const COMPACT_PATTERN = /^(\d{4})(\d{2})(\d{2})$/

/** Midnight UTC of a `YYYY-MM-DD` day, in epoch milliseconds. */
export const dayStart = (day: string): number => Date.parse(`${day}T00:00:00Z`)

export const formatDay = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 10)

export const addDays = (day: string, days: number): string => formatDay(dayStart(day) + days * DAY_MS)

export const daysBetween = (from: string, to: string): number => Math.round((dayStart(to) - dayStart(from)) / DAY_MS)

export const dayRange = (start: string, end: string): Array<string> => {
  const result: Array<string> = []
  for (let day = start; day <= end; day = addDays(day, 1)) result.push(day)
  return result
}

export const isDay = (value: string): boolean => {
  const start = dayStart(value)
  return DAY_PATTERN.test(value) && !Number.isNaN(start) && formatDay(start) === value
}

/** `20260701` → `2026-07-01`, or undefined when it is not a real date. */
export const fromCompactDay = (value: string): string | undefined => {
  const match = COMPACT_PATTERN.exec(value)
  if (match === null) return undefined
  const day = `${match[1]}-${match[2]}-${match[3]}`
  return isDay(day) ? day : undefined
}

export const toCompactDay = (day: string): string => day.replaceAll("-", "")

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

/** `2026-07-01` → `Jul 01`, as in funnel `formattedXValues`. */
export const formatShortDay = (day: string): string =>
  `${MONTHS[Number(day.slice(5, 7)) - 1] ?? ""} ${day.slice(8, 10)}`

/** Monday of the ISO week containing the day. */
export const weekStart = (day: string): string => {
  const weekday = new Date(dayStart(day)).getUTCDay()
  return addDays(day, -((weekday + 6) % 7))
}

export const monthStart = (day: string): string => `${day.slice(0, 7)}-01`
