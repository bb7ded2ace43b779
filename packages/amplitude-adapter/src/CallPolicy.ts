import { Duration } from "effect"

/**
 * How a call behaves when Amplitude (or this process's governor) says "not now".
 *
 * - `interactive` (a person is waiting: validation, pickers, "Pull metrics"): a 429 or a spent hourly
 *   budget fails at once with `RateLimited` and its retry-after; 5xx and connection failures of idempotent
 *   requests get two quick retries; a timed-out attempt is not repeated.
 * - `background` (scheduler: annotation push, outcome sweep, nightly sync): a 429 waits for `Retry-After`
 *   (else exponential backoff with jitter, 60 s cap) and retries; a spent budget waits for the window to
 *   free; 5xx, connection failures and timeouts of idempotent requests are retried with backoff.
 *
 * Non-idempotent requests (annotation create) are retried only after a 429, which Amplitude sends
 * before doing the work.
 */
export interface CallPolicy {
  readonly name: string
  /** Background calls may use all but the governor's interactive reserve of concurrent slots. */
  readonly priority: "interactive" | "background"
  /** Retries after a 5xx or a connection failure; idempotent requests only. */
  readonly transientRetries: number
  readonly transientBaseDelay: Duration.Duration
  readonly transientMaxDelay: Duration.Duration
  /** Whether an attempt that hit `AMPLITUDE_TIMEOUT_MS` counts as transient and is retried. */
  readonly retryTimeouts: boolean
  /** Retries after a 429; 0 fails at once with `RateLimited`. */
  readonly rateLimitRetries: number
  /** First backoff after a 429 without `Retry-After`; doubles per retry, with jitter. */
  readonly rateLimitBaseDelay: Duration.Duration
  readonly rateLimitMaxDelay: Duration.Duration
  /** A `Retry-After` longer than this is not waited for: the call fails with `RateLimited`. */
  readonly maxRetryAfter: Duration.Duration
  /** Wait for this process's hourly query budget to free up, instead of failing with `RateLimited`. */
  readonly waitForBudget: boolean
}

const interactive: CallPolicy = {
  name: "interactive",
  priority: "interactive",
  transientRetries: 2,
  transientBaseDelay: Duration.millis(100),
  transientMaxDelay: Duration.seconds(1),
  retryTimeouts: false,
  rateLimitRetries: 0,
  rateLimitBaseDelay: Duration.seconds(1),
  rateLimitMaxDelay: Duration.seconds(60),
  maxRetryAfter: Duration.zero,
  waitForBudget: false
}

const background: CallPolicy = {
  name: "background",
  priority: "background",
  transientRetries: 4,
  transientBaseDelay: Duration.millis(500),
  transientMaxDelay: Duration.seconds(8),
  retryTimeouts: true,
  rateLimitRetries: 6,
  rateLimitBaseDelay: Duration.seconds(2),
  rateLimitMaxDelay: Duration.seconds(60),
  maxRetryAfter: Duration.minutes(5),
  waitForBudget: true
}

export const CallPolicy = {
  interactive,
  background,
  /** A named variant of a preset, e.g. a background policy with shorter backoff for tests. */
  make: (base: CallPolicy, overrides: Partial<CallPolicy>): CallPolicy => ({ ...base, ...overrides })
} as const
