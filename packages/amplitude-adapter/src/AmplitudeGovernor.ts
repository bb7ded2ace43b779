import { type FairSemaphore, RateLimited, unsafeMakeFairSemaphore } from "@findry/domain"
import { Clock, Context, Duration, Effect, Layer, Metric, Option } from "effect"
import { budgetCharged, budgetRefused, budgetUsed, governorWait } from "./internal/Metrics.js"

const waited = (gate: "concurrency" | "budget" | "experiment_pace", priority: Priority | "any") =>
  governorWait({ gate, priority })
/** The wait histograms of the three gates, tagged once. */
export const waitedFor: {
  readonly concurrency: Record<Priority, Metric.Metric.Histogram<number>>
  readonly budget: Metric.Metric.Histogram<number>
  readonly experimentPace: Metric.Metric.Histogram<number>
} = {
  concurrency: { interactive: waited("concurrency", "interactive"), background: waited("concurrency", "background") },
  budget: waited("budget", "any"),
  experimentPace: waited("experiment_pace", "any")
}

/**
 * Amplitude's documented per-project limits. `makeGovernor` counts them in this process's memory, which is exact
 * for a single process (the embedded database, tests); `FleetGovernor` shares them between all processes on one
 * PostgreSQL database.
 */
export interface GovernorLimits {
  /** Analytics REST requests in flight per project (Amplitude: 5 across all REST endpoints). */
  readonly concurrentRequests: number
  /** Slots held back for interactive calls, so a person never queues behind a whole sweep. */
  readonly reservedForInteractive: number
  /** Dashboard REST query cost per project per window (Amplitude: 108,000 per hour). */
  readonly queryBudget: number
  readonly budgetWindow: Duration.Duration
  /** Experiment Management API requests per project per second (Amplitude: 100). */
  readonly experimentRequestsPerSecond: number
}

export const DEFAULT_GOVERNOR_LIMITS: GovernorLimits = {
  concurrentRequests: 5,
  reservedForInteractive: 1,
  queryBudget: 108_000,
  budgetWindow: Duration.hours(1),
  experimentRequestsPerSecond: 100
}

export type Priority = "interactive" | "background"

interface ProjectGate {
  readonly all: FairSemaphore
  readonly background: FairSemaphore
  /** Requests holding or waiting for a permit: the gate may be dropped only when none do. */
  users: number
  inFlight: number
  peak: number
}

/**
 * Idle entries are dropped at most once a minute, or sooner once a map tracks this many projects (the next early
 * sweep then waits for twice as many), so memory follows the projects in use, not every project ever called.
 */
const SWEEP_THRESHOLD = 1024
const SWEEP_INTERVAL_MS = 60_000

interface Charge {
  readonly at: number
  cost: number
}

/** A project's charges, oldest first, with their running total; charges before `head` have left the window. */
interface CostWindow {
  entries: Array<Charge>
  head: number
  total: number
}

export interface Governor {
  readonly limits: GovernorLimits
  /** Runs one request within the project's concurrency limit. */
  readonly throttle: (
    projectKey: string,
    priority: Priority
  ) => <A, E, R>(request: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Charges a Dashboard query's cost to the project's window. When the window has no room: waits until
   * it has (`wait`), or fails with `RateLimited` carrying the seconds until it has. Succeeds with the effect
   * that takes the charge back, for a request Amplitude refused without running (429).
   */
  readonly charge: (projectKey: string, cost: number, wait: boolean) => Effect.Effect<Effect.Effect<void>, RateLimited>
  /** Waits, if needed, until one more Experiment Management API request fits in the per-second limit. */
  readonly pace: (projectKey: string) => Effect.Effect<void>
  /** Highest number of this process's requests in flight at once for the project (tests, metrics). */
  readonly peakInFlight: (projectKey: string) => number
  /** Query cost charged within the current window for the project. */
  readonly costUsed: (projectKey: string) => Effect.Effect<number>
  /** Projects this process keeps any state for (concurrency, cost or pacing); idle ones are dropped over time. */
  readonly trackedProjects: () => number
}

const budgetExhausted = (seconds: number) =>
  new RateLimited({
    retryAfterSeconds: seconds,
    message: `The hourly Amplitude query budget of this project is used up. Wait ${seconds} seconds and retry.`
  })

const tooExpensive = (cost: number, budget: number) =>
  new RateLimited({
    retryAfterSeconds: 3600,
    message: `This query costs ${cost}, more than Amplitude's hourly budget of ${budget}. Query a shorter range.`
  })

/** A charge the budget refuses, counted: `waitMs` until it would fit. */
export const refuseCharge = (waitMs: number): Effect.Effect<never, RateLimited> =>
  Effect.zipRight(Metric.increment(budgetRefused), Effect.fail(budgetExhausted(Math.ceil(waitMs / 1000))))

/**
 * What every governor decides before looking at a window: a free query costs nothing (`Some`, with a no-op refund),
 * one dearer than the whole budget can never fit (a counted `RateLimited`), anything else needs the window (`None`).
 */
export const chargeWithoutWindow = (
  cost: number,
  budget: number
): Option.Option<Effect.Effect<Effect.Effect<void>, RateLimited>> =>
  cost <= 0
    ? Option.some(Effect.succeed(Effect.void))
    : cost > budget
    ? Option.some(Effect.zipRight(Metric.increment(budgetRefused), Effect.fail(tooExpensive(cost, budget))))
    : Option.none()

/**
 * Records a charge that fitted: its cost, the share of the budget now used (when known) and how long it waited for
 * room in the budget.
 */
export const recordCharge = (cost: number, usedShare: number | undefined, waitedMs: number): Effect.Effect<void> =>
  Effect.all([
    Metric.incrementBy(budgetCharged, cost),
    usedShare === undefined ? Effect.void : Metric.update(budgetUsed, usedShare),
    waitedMs > 0 ? Metric.update(waitedFor.budget, waitedMs / 1000) : Effect.void
  ], { discard: true })

export const makeGovernor = (limits: GovernorLimits): Governor => {
  const gates = new Map<string, ProjectGate>()
  const windows = new Map<string, CostWindow>()
  const experimentHits = new Map<string, Array<number>>()
  const windowMs = Duration.toMillis(limits.budgetWindow)
  let nextSweepAt = SWEEP_THRESHOLD
  let lastSweep = 0

  /** Drops every project entry that holds nothing: no request in or waiting, no charge in the window, no recent hit. */
  const sweepIdle = (now: number) => {
    for (const [key, gate] of gates) if (gate.users === 0) gates.delete(key)
    for (const [key, window] of windows) if (slide(window, now) === 0) windows.delete(key)
    for (const [key, hits] of experimentHits) if ((hits.at(-1) ?? 0) <= now - 1000) experimentHits.delete(key)
    nextSweepAt = Math.max(SWEEP_THRESHOLD, 2 * Math.max(gates.size, windows.size, experimentHits.size))
    lastSweep = now
  }

  const sweepIfDue = (now: number) => {
    if (
      now - lastSweep >= SWEEP_INTERVAL_MS || Math.max(gates.size, windows.size, experimentHits.size) >= nextSweepAt
    ) sweepIdle(now)
  }

  const gateOf = (projectKey: string): ProjectGate => {
    let gate = gates.get(projectKey)
    if (gate === undefined) {
      gate = {
        all: unsafeMakeFairSemaphore(limits.concurrentRequests),
        background: unsafeMakeFairSemaphore(
          Math.max(1, limits.concurrentRequests - limits.reservedForInteractive)
        ),
        users: 0,
        inFlight: 0,
        peak: 0
      }
      gates.set(projectKey, gate)
    }
    return gate
  }

  const throttle = (projectKey: string, priority: Priority) => <A, E, R>(request: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      sweepIfDue(now)
      const gate = gateOf(projectKey)
      const counted = Effect.acquireUseRelease(
        Effect.flatMap(Clock.currentTimeMillis, (admitted) => {
          gate.inFlight++
          gate.peak = Math.max(gate.peak, gate.inFlight)
          return Metric.update(waitedFor.concurrency[priority], (admitted - now) / 1000)
        }),
        () => request,
        () => Effect.sync(() => gate.inFlight--)
      )
      const limited = gate.all.withPermit(counted)
      return Effect.acquireUseRelease(
        Effect.sync(() => gate.users++),
        () => priority === "background" ? gate.background.withPermit(limited) : limited,
        () => Effect.sync(() => gate.users--)
      )
    })

  const emptyWindow = (): CostWindow => ({ entries: [], head: 0, total: 0 })

  const windowOf = (projectKey: string): CostWindow => {
    let window = windows.get(projectKey)
    if (window === undefined) {
      window = emptyWindow()
      windows.set(projectKey, window)
    }
    return window
  }

  /** Drops charges older than the window; amortised O(1) per charge. */
  const slide = (window: CostWindow, now: number): number => {
    const { entries } = window
    while (window.head < entries.length && entries[window.head]!.at <= now - windowMs) {
      window.total -= entries[window.head]!.cost
      window.head++
    }
    if (window.head > 1024 && window.head * 2 > entries.length) {
      window.entries = entries.slice(window.head)
      window.head = 0
    }
    return window.total
  }

  /** Milliseconds until enough old charges leave the window for `cost` to fit. */
  const waitFor = (window: CostWindow, cost: number, now: number): number => {
    let freed = 0
    for (let i = window.head; i < window.entries.length; i++) {
      const entry = window.entries[i]!
      freed += entry.cost
      if (window.total - freed + cost <= limits.queryBudget) return Math.max(1, entry.at + windowMs - now)
    }
    return windowMs
  }

  const charge = (
    projectKey: string,
    cost: number,
    wait: boolean
  ): Effect.Effect<Effect.Effect<void>, RateLimited> => {
    const decided = chargeWithoutWindow(cost, limits.queryBudget)
    if (Option.isSome(decided)) return decided.value
    const attempt = (since: number): Effect.Effect<Effect.Effect<void>, RateLimited> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        sweepIfDue(now)
        const window = windowOf(projectKey)
        if (slide(window, now) + cost <= limits.queryBudget) {
          const entry: Charge = { at: now, cost }
          window.entries.push(entry)
          window.total += cost
          const refund = Effect.sync(() => {
            window.total -= entry.cost
            entry.cost = 0
          })
          return Effect.as(recordCharge(cost, window.total / limits.queryBudget, now - since), refund)
        }
        const waitMs = waitFor(window, cost, now)
        return wait
          ? Effect.zipRight(Effect.sleep(Duration.millis(waitMs)), attempt(since))
          : refuseCharge(waitMs)
      })
    return Effect.flatMap(Clock.currentTimeMillis, attempt)
  }

  const pace = (projectKey: string): Effect.Effect<void> => {
    const attempt = (since: number): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        sweepIfDue(now)
        let hits = experimentHits.get(projectKey)
        if (hits === undefined) {
          hits = []
          experimentHits.set(projectKey, hits)
        }
        while (hits.length > 0 && hits[0]! <= now - 1000) hits.shift()
        if (hits.length < limits.experimentRequestsPerSecond) {
          hits.push(now)
          return now > since ? Metric.update(waitedFor.experimentPace, (now - since) / 1000) : Effect.void
        }
        return Effect.zipRight(Effect.sleep(Duration.millis(hits[0]! + 1000 - now)), attempt(since))
      })
    return Effect.flatMap(Clock.currentTimeMillis, attempt)
  }

  return {
    limits,
    throttle,
    charge,
    pace,
    peakInFlight: (projectKey) => gates.get(projectKey)?.peak ?? 0,
    costUsed: (projectKey) =>
      Effect.map(Clock.currentTimeMillis, (now) => slide(windows.get(projectKey) ?? emptyWindow(), now)),
    trackedProjects: () => new Set([...gates.keys(), ...windows.keys(), ...experimentHits.keys()]).size
  }
}

/**
 * One per process: the layer is built once per application, so every connection handle and validation
 * of the process shares the same per-project limits. `Default` and `layer` count in memory; `FleetGovernorLive`
 * provides the fleet-wide one.
 */
export class AmplitudeGovernor extends Context.Tag("@findry/amplitude-adapter/AmplitudeGovernor")<
  AmplitudeGovernor,
  Governor
>() {
  static readonly Default: Layer.Layer<AmplitudeGovernor> = Layer.sync(
    AmplitudeGovernor,
    () => makeGovernor(DEFAULT_GOVERNOR_LIMITS)
  )

  static layer(limits: Partial<GovernorLimits> = {}): Layer.Layer<AmplitudeGovernor> {
    return Layer.sync(AmplitudeGovernor, () => makeGovernor({ ...DEFAULT_GOVERNOR_LIMITS, ...limits }))
  }
}
