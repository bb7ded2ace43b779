import { compactDay, type DayInput, daysInRange } from "./Dates.js"
import { analyticsCall } from "./internal/Call.js"
import { conditionCount, type Interval, INTERVAL_PARAM, type SegmentCondition } from "./Segmentation.js"
import { SeriesReply, toSeriesResult } from "./Series.js"

/** `GET /api/2/users`: active or new users per bucket. */
export interface UsersQuery {
  /** Default `active`. */
  readonly metric?: "active" | "new"
  readonly start: DayInput
  readonly end: DayInput
  /** Default `daily`. */
  readonly interval?: Interval
  readonly segment?: ReadonlyArray<SegmentCondition>
  /** A user property to group by (`country`, `gp:plan`); one series per value. */
  readonly groupBy?: string
}

/** `GET /api/2/sessions/average`: average session length per day, in seconds. */
export interface SessionLengthQuery {
  readonly start: DayInput
  readonly end: DayInput
}

export const usersParams = (query: UsersQuery): Array<readonly [string, string]> => [
  ["m", query.metric ?? "active"],
  ["start", compactDay(query.start)],
  ["end", compactDay(query.end)],
  ["i", INTERVAL_PARAM[query.interval ?? "daily"]],
  ...((query.segment?.length ?? 0) > 0 ? [["s", JSON.stringify(query.segment)] as const] : []),
  ...(query.groupBy === undefined ? [] : [["g", query.groupBy] as const])
]

/** Query cost: days × conditions (a group-by counts as 4) × 1. */
export const usersCost = (query: UsersQuery): number => {
  return daysInRange(query.start, query.end) *
    conditionCount(query.segment?.length ?? 0, query.groupBy === undefined ? 0 : 1)
}

export const sessionLengthParams = (query: SessionLengthQuery): Array<readonly [string, string]> => [
  ["start", compactDay(query.start)],
  ["end", compactDay(query.end)]
]

/** Query cost: days × 1 × 4 (User Sessions). */
export const sessionLengthCost = (query: SessionLengthQuery): number => daysInRange(query.start, query.end) * 4

/** `GET /api/2/users`: active or new users. */
export const users = analyticsCall((query: UsersQuery) => ({
  request: { endpoint: "/api/2/users", urlParams: usersParams(query), cost: usersCost(query) },
  reply: SeriesReply,
  refused: "Amplitude refused the users query",
  map: (decoded) => toSeriesResult(decoded.data, { missing: 0, collapsedIsTotal: false })
}))

/** `GET /api/2/sessions/average`: seconds per day. */
export const averageSessionLength = analyticsCall((query: SessionLengthQuery) => ({
  request: {
    endpoint: "/api/2/sessions/average",
    urlParams: sessionLengthParams(query),
    cost: sessionLengthCost(query)
  },
  reply: SeriesReply,
  refused: "Amplitude refused the session length query",
  map: (decoded) => toSeriesResult(decoded.data, { missing: null, collapsedIsTotal: false })
}))
