import type { ProjectState } from "./Project.js"

/** Amplitude's documented limits; `null` turns a limit off. */
export interface Limits {
  /** Concurrent analytics requests per project. Default 5. */
  readonly analyticsConcurrency: number | null
  /** Dashboard REST cost budget per project per window. Default 108,000. */
  readonly costBudget: number | null
  /** Length of the cost window. Default one hour. */
  readonly costWindowMs: number
  /** Experiment Management API requests per project per second. Default 100. */
  readonly experimentRequestsPerSecond: number | null
  /** Experiment Management API requests per project per UTC day. Default 100,000. */
  readonly experimentRequestsPerDay: number | null
}

export const DEFAULT_LIMITS: Limits = {
  analyticsConcurrency: 5,
  costBudget: 108_000,
  costWindowMs: 3_600_000,
  experimentRequestsPerSecond: 100,
  experimentRequestsPerDay: 100_000
}

export const validateLimits = (input: Record<string, unknown>): Array<string> =>
  Object.entries(input).flatMap(([key, value]) => {
    if (!(key in DEFAULT_LIMITS)) return [`unknown limit ${key}`]
    const nullable = key !== "costWindowMs"
    const ok = (nullable && value === null) || (typeof value === "number" && Number.isInteger(value) && value >= 0)
    return ok ? [] : [`invalid value for ${key}: ${JSON.stringify(value)}`]
  })

/** Adds the time since the last change of `inFlight`, once per request then in flight, to `busyMillis`. */
export const accrueBusyTime = (state: ProjectState): void => {
  const now = performance.now()
  state.busyMillis += state.inFlight * (now - state.busySince)
  state.busySince = now
}

/**
 * Counts one more in-flight request (the peak includes requests that get rejected, so a client
 * that sends too many at once shows up in `maxInFlight`). Returns a release function, or
 * undefined when the request is over the limit (already released).
 */
export const enterConcurrency = (state: ProjectState, limits: Limits): (() => void) | undefined => {
  accrueBusyTime(state)
  state.inFlight++
  state.maxInFlight = Math.max(state.maxInFlight, state.inFlight)
  let released = false
  const release = () => {
    if (released) return
    released = true
    accrueBusyTime(state)
    state.inFlight--
  }
  if (limits.analyticsConcurrency !== null && state.inFlight > limits.analyticsConcurrency) {
    release()
    return undefined
  }
  return release
}

export const costUsed = (state: ProjectState, limits: Limits, now: number): number => {
  const since = now - limits.costWindowMs
  while (state.costLog.length > 0 && state.costLog[0]!.at <= since) state.costLog.shift()
  return state.costLog.reduce((sum, entry) => sum + entry.cost, 0)
}

/** Charges a query's cost; false when it would exceed the budget (nothing is charged then). */
export const chargeCost = (state: ProjectState, limits: Limits, cost: number, now: number): boolean => {
  const used = costUsed(state, limits, now)
  if (limits.costBudget !== null && used + cost > limits.costBudget) return false
  state.costLog.push({ at: now, cost })
  return true
}

const DAY_MS = 86_400_000

/** Records an Experiment API hit; false when the per-second or per-day limit is exceeded. */
export const hitExperimentRate = (state: ProjectState, limits: Limits, now: number): boolean => {
  if (limits.experimentRequestsPerSecond === null && limits.experimentRequestsPerDay === null) return true
  const dayStart = now - (now % DAY_MS)
  while (state.experimentHits.length > 0 && state.experimentHits[0]! < dayStart) state.experimentHits.shift()
  let lastSecond = 0
  for (let i = state.experimentHits.length - 1; i >= 0 && state.experimentHits[i]! > now - 1000; i--) lastSecond++
  if (limits.experimentRequestsPerSecond !== null && lastSecond >= limits.experimentRequestsPerSecond) return false
  if (limits.experimentRequestsPerDay !== null && state.experimentHits.length >= limits.experimentRequestsPerDay) {
    return false
  }
  state.experimentHits.push(now)
  return true
}
