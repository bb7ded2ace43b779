import { Config, Context, Duration, Layer } from "effect"

/** How annotation pushes behave. Production reads it from the environment; tests shorten the waits. */
export interface AnnotationsSettings {
  /** Findry web app base URL (no trailing slash), for the deep link in `details`. */
  readonly appUrl: string
  /** Amplitude annotation category every Findry annotation is filed under. */
  readonly category: string
  /** Amplitude attempts per push before it ends as `failed`. */
  readonly maxAttempts: number
  /** First durable backoff after a retryable failure; doubles per attempt up to `maxBackoff`. */
  readonly baseBackoff: Duration.Duration
  /** Longest durable wait, also the cap on an honoured `Retry-After`. */
  readonly maxBackoff: Duration.Duration
  /** After a create whose answer was lost (timeout, 5xx), wait this long, then remove late duplicates. */
  readonly reconcileDelay: Duration.Duration
  /** Pushes running at once in one runner process (docs/scheduler.md#bounded-fan-out). */
  readonly pushConcurrency: number
  /** Finished workflow executions older than this are purged (docs/scheduler.md#retention-purge). */
  readonly retention: Duration.Duration
  /** A message waiting longer than this marks the scheduler as stalled (`/readyz`, docs/scheduler.md#stall-alarm). */
  readonly stallThreshold: Duration.Duration
}

export const DEFAULT_ANNOTATIONS_SETTINGS: AnnotationsSettings = {
  appUrl: "http://localhost:3000",
  category: "Findry",
  maxAttempts: 8,
  baseBackoff: Duration.seconds(2),
  maxBackoff: Duration.minutes(5),
  reconcileDelay: Duration.seconds(30),
  pushConcurrency: 16,
  retention: Duration.days(30),
  stallThreshold: Duration.minutes(5)
}

export class AnnotationsConfig extends Context.Tag("@findry/annotations/AnnotationsConfig")<
  AnnotationsConfig,
  AnnotationsSettings
>() {
  /**
   * `FINDRY_APP_URL` (default `http://localhost:3000`), `FINDRY_ANNOTATION_MAX_ATTEMPTS` (8),
   * `FINDRY_WORKFLOW_RETENTION_DAYS` (30), `FINDRY_SCHEDULER_STALL_MINUTES` (5),
   * `FINDRY_ANNOTATION_PUSH_CONCURRENCY` (16).
   */
  static readonly config: Config.Config<AnnotationsSettings> = Config.all({
    appUrl: Config.url("FINDRY_APP_URL").pipe(
      Config.map((url) => url.toString().replace(/\/$/, "")),
      Config.withDefault(DEFAULT_ANNOTATIONS_SETTINGS.appUrl)
    ),
    maxAttempts: Config.integer("FINDRY_ANNOTATION_MAX_ATTEMPTS").pipe(
      Config.validate({ message: "must be between 1 and 50", validation: (n) => n >= 1 && n <= 50 }),
      Config.withDefault(DEFAULT_ANNOTATIONS_SETTINGS.maxAttempts)
    ),
    retentionDays: Config.integer("FINDRY_WORKFLOW_RETENTION_DAYS").pipe(
      Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
      Config.withDefault(30)
    ),
    stallMinutes: Config.integer("FINDRY_SCHEDULER_STALL_MINUTES").pipe(
      Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
      Config.withDefault(5)
    ),
    pushConcurrency: Config.integer("FINDRY_ANNOTATION_PUSH_CONCURRENCY").pipe(
      Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
      Config.withDefault(DEFAULT_ANNOTATIONS_SETTINGS.pushConcurrency)
    )
  }).pipe(Config.map(({ retentionDays, stallMinutes, ...rest }): AnnotationsSettings => ({
    ...DEFAULT_ANNOTATIONS_SETTINGS,
    ...rest,
    retention: Duration.days(retentionDays),
    stallThreshold: Duration.minutes(stallMinutes)
  })))

  static readonly layerConfig = Layer.effect(AnnotationsConfig, AnnotationsConfig.config)

  static layer(overrides: Partial<AnnotationsSettings> = {}): Layer.Layer<AnnotationsConfig> {
    return Layer.succeed(AnnotationsConfig, { ...DEFAULT_ANNOTATIONS_SETTINGS, ...overrides })
  }
}
