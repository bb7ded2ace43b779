import { ConnectionResolver, failureReason, type LiveExperiments } from "@findry/amplitude-access"
import { type AmplitudeExperiments, CallPolicy, type Experiment, type ExperimentPage } from "@findry/amplitude-adapter"
import { labelledMetric, type ManagementKeyRequired, type NotConnected, type WorkspaceId } from "@findry/domain"
import { ExperimentSyncRepo, type LinkedTest, type SyncResult, type SyncRunRow } from "@findry/persistence"
import { Config, Context, Duration, Effect, Either, Layer, Metric, MetricBoundaries, Option, Schema } from "effect"
import { experimentFields } from "./ExperimentFields.js"

/** Tuning of the nightly sync; `ExperimentSyncSettings.Default` holds the production values. */
export interface ExperimentSyncOptions {
  /** Workspaces synced at once by the nightly parent workflow; the next wave starts when this one is done. */
  readonly waveSize: number
  /** Experiment lookups in flight at once for one workspace (the adapter also paces 100 requests/s per project). */
  readonly perWorkspaceConcurrency: number
  /** Up to this many linked experiments are fetched one by one; more are read from the experiment list. */
  readonly lookupThreshold: number
  /** A workspace still syncing after this long is recorded as failed (`timeout`) and the night goes on. */
  readonly workspaceTimeout: Duration.Duration
  /** Retries and waits of the Amplitude calls. */
  readonly policy: CallPolicy
}

/**
 * Background calls, but a 429 storm gives up after four waits (about half a minute) instead of holding a wave
 * for many minutes: that workspace is recorded as `RateLimited` and retried the next night.
 */
export const SYNC_POLICY: CallPolicy = CallPolicy.make(CallPolicy.background, {
  name: "experiment-sync",
  rateLimitRetries: 4,
  maxRetryAfter: Duration.minutes(1)
})

export class ExperimentSyncSettings extends Context.Tag("@findry/experiment-sync/ExperimentSyncSettings")<
  ExperimentSyncSettings,
  ExperimentSyncOptions
>() {
  static readonly defaults: ExperimentSyncOptions = {
    waveSize: 100,
    perWorkspaceConcurrency: 5,
    lookupThreshold: 3,
    workspaceTimeout: Duration.minutes(5),
    policy: SYNC_POLICY
  }
  static readonly Default = Layer.succeed(ExperimentSyncSettings, ExperimentSyncSettings.defaults)
  /** The production values, with `FINDRY_SYNC_WAVE_SIZE` (default 100) read from the configuration. */
  static readonly config: Config.Config<ExperimentSyncOptions> = Config.integer("FINDRY_SYNC_WAVE_SIZE").pipe(
    Config.validate({ message: "must be between 1 and 10000", validation: (n) => n >= 1 && n <= 10_000 }),
    Config.withDefault(ExperimentSyncSettings.defaults.waveSize),
    Config.map((waveSize) => ({ ...ExperimentSyncSettings.defaults, waveSize }))
  )
  static readonly layerConfig = Layer.effect(ExperimentSyncSettings, ExperimentSyncSettings.config)
  static layer(overrides: Partial<ExperimentSyncOptions>): Layer.Layer<ExperimentSyncSettings> {
    return Layer.succeed(ExperimentSyncSettings, { ...ExperimentSyncSettings.defaults, ...overrides })
  }
}

export const WorkspaceSyncStatus = Schema.Literal("succeeded", "failed", "skipped")

/** One workspace's night, as the workflows store it. */
export class WorkspaceSyncOutcome extends Schema.Class<WorkspaceSyncOutcome>("WorkspaceSyncOutcome")({
  workspaceId: Schema.String,
  status: WorkspaceSyncStatus,
  testsTotal: Schema.Number,
  testsSynced: Schema.Number,
  reason: Schema.NullOr(Schema.String)
}) {}

/** Workspaces the nightly sync ran, by `outcome` (`succeeded`, `failed`, `skipped`); one per workspace and night. */
export const workspaceSyncs = labelledMetric(Metric.counter("experiment_sync.workspaces", {
  description: "Workspaces synced by the nightly experiment sync, by outcome (succeeded, failed, skipped)",
  incremental: true
}))

/** How long one workspace's sync took, by outcome. */
export const workspaceSyncDuration = labelledMetric(
  Metric.histogram(
    "experiment_sync.workspace.duration",
    MetricBoundaries.fromIterable([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]),
    "Seconds one workspace's nightly experiment sync took, by outcome"
  ),
  { unit: "s" }
)

const outcomeOf = (run: SyncRunRow): WorkspaceSyncOutcome =>
  new WorkspaceSyncOutcome({
    workspaceId: run.workspaceId,
    status: run.status === "running" ? "failed" : run.status,
    testsTotal: run.testsTotal,
    testsSynced: run.testsSynced,
    reason: run.reason
  })

interface Fetched {
  readonly found: ReadonlyArray<Experiment>
  readonly gone: ReadonlyArray<string>
  readonly requests: number
}

class SyncTimeout extends Schema.TaggedError<SyncTimeout>()("SyncTimeout", { message: Schema.String }) {}

const emptyResult = (status: SyncResult["status"], reason: string | null, message: string | null): SyncResult => ({
  status,
  experiments: [],
  gone: [],
  failed: [],
  testsTotal: 0,
  requests: 0,
  reason,
  message
})

/**
 * Refreshes the linked tests of one workspace from Amplitude Experiment and records the night's outcome. Never
 * fails: Amplitude trouble (revoked key, 429 storm, outage) becomes a `failed` outcome for this workspace only;
 * a workspace that lost its connection or management key is `skipped`. A night that already finished for the
 * workspace is not synced again.
 */
export class ExperimentSync extends Effect.Service<ExperimentSync>()("@findry/experiment-sync/ExperimentSync", {
  effect: Effect.gen(function*() {
    const resolver = yield* ConnectionResolver
    const runs = yield* ExperimentSyncRepo
    const settings = yield* ExperimentSyncSettings

    /** Looks each id up; 404 (or `deleted: true`) means gone. */
    const lookUp = (experiments: AmplitudeExperiments, ids: ReadonlyArray<string>) =>
      Effect.forEach(ids, (id) => Effect.map(experiments.get(id), (found) => [id, found] as const), {
        concurrency: settings.perWorkspaceConcurrency
      }).pipe(
        Effect.map((answers): Fetched => ({
          found: answers.flatMap(([, found]) => Option.isSome(found) ? [found.value] : []),
          gone: answers.flatMap(([id, found]) => Option.isNone(found) ? [id] : []),
          requests: ids.length
        }))
      )

    /**
     * Pages through the list (archived included, newest first) until every linked id was seen, then looks up
     * the ones the list did not show, to tell a deleted experiment from one the list leaves out.
     */
    const fromList = (experiments: AmplitudeExperiments, ids: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const wanted = new Set(ids)
        const seen = new Map<string, Experiment>()
        let pages = 0
        let cursor: string | null | undefined = undefined
        while (cursor !== null && seen.size < wanted.size) {
          const page: ExperimentPage = yield* experiments.listPage({ includeArchived: true }, cursor)
          pages++
          for (const experiment of page.experiments) if (wanted.has(experiment.id)) seen.set(experiment.id, experiment)
          cursor = page.nextCursor
        }
        const missing = ids.filter((id) => !seen.has(id))
        const rest = missing.length === 0 ? { found: [], gone: [], requests: 0 } : yield* lookUp(experiments, missing)
        return {
          found: [...seen.values(), ...rest.found],
          gone: rest.gone,
          requests: pages + rest.requests
        } satisfies Fetched
      })

    const attempt = Effect.fn("ExperimentSync.attempt")(function*(
      workspaceId: WorkspaceId,
      resolved: Either.Either<LiveExperiments, NotConnected | ManagementKeyRequired>,
      tests: ReadonlyArray<LinkedTest>
    ) {
      if (Either.isLeft(resolved)) {
        return resolved.left._tag === "NotConnected"
          ? emptyResult("skipped", "not_connected", "Amplitude is not connected.")
          : emptyResult("skipped", "no_management_key", "No Amplitude Management API key.")
      }
      const { experiments } = resolved.right
      if (tests.length === 0) return emptyResult("succeeded", null, null)
      const ids = [...new Set(tests.map((test) => test.experimentId))]
      yield* Effect.annotateCurrentSpan({ "sync.tests": tests.length, "sync.experiments": ids.length })

      const fetched = yield* (ids.length <= settings.lookupThreshold
        ? lookUp(experiments, ids)
        : fromList(experiments, ids)).pipe(
          Effect.timeoutFail({
            duration: settings.workspaceTimeout,
            onTimeout: () =>
              new SyncTimeout({
                message: `Amplitude did not answer within ${Duration.format(settings.workspaceTimeout)}.`
              })
          }),
          Effect.either
        )
      if (Either.isLeft(fetched)) {
        const error = fetched.left
        const message = error._tag === "SyncTimeout" ? error.message : failureReason(error)
        yield* Effect.logWarning("Experiment sync failed for a workspace").pipe(
          Effect.annotateLogs({ workspaceId, reason: error._tag })
        )
        return {
          ...emptyResult("failed", error._tag, message),
          failed: ids.map((experimentId) => ({ experimentId, error: message })),
          testsTotal: tests.length
        } satisfies SyncResult
      }
      return {
        status: "succeeded",
        experiments: fetched.right.found.map(experimentFields),
        gone: fetched.right.gone,
        failed: [],
        testsTotal: tests.length,
        requests: fetched.right.requests,
        reason: null,
        message: null
      } satisfies SyncResult
    })

    /** An attempt that died is this workspace's failure, recorded like any other, not the wave's. */
    const attemptOrFailed = (
      workspaceId: WorkspaceId,
      resolved: Either.Either<LiveExperiments, NotConnected | ManagementKeyRequired>,
      tests: ReadonlyArray<LinkedTest>
    ) =>
      attempt(workspaceId, resolved, tests).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.logError("Experiment sync of a workspace died", defect).pipe(
            Effect.annotateLogs({ workspaceId }),
            Effect.as(
              {
                ...emptyResult("failed", "defect", "The sync failed unexpectedly; it is tried again next night."),
                testsTotal: tests.length
              } satisfies SyncResult
            )
          )
        )
      )

    /**
     * Syncs a wave of workspaces for the night `date`: the nights are begun, the connections and linked tests
     * read and the outcomes stored for the whole wave at once (four round trips, whatever its size), while
     * Amplitude is called for each workspace concurrently. A workspace whose night had already finished answers its stored
     * outcome without calling Amplitude. Outcomes in id order, one per distinct workspace.
     */
    const syncWave = Effect.fn("ExperimentSync.syncWave")(
      function*(workspaceIds: ReadonlyArray<WorkspaceId>, date: string) {
        yield* Effect.annotateCurrentSpan({ "sync.workspaces": workspaceIds.length, "sync.date": date })
        const begun = yield* runs.beginAll(workspaceIds, date)
        const open = begun.flatMap((run) => run.status === "running" ? [run.workspaceId] : [])
        if (open.length === 0) return begun.map(outcomeOf)
        const [connections, tests] = yield* Effect.all(
          [resolver.withExperimentsAll(open, { policy: settings.policy }), runs.linkedTestsOf(open)],
          { concurrency: 2 }
        )
        const attempts = yield* Effect.forEach(
          open,
          (workspaceId) =>
            Effect.map(
              Effect.timed(attemptOrFailed(workspaceId, connections.get(workspaceId)!, tests.get(workspaceId) ?? [])),
              ([took, result]) => ({ workspaceId, result, seconds: Duration.toMillis(took) / 1000 })
            ),
          { concurrency: "unbounded" }
        )
        const finished = new Map(
          (yield* runs.finishAll(date, attempts)).map((run) => [run.workspaceId, outcomeOf(run)])
        )
        for (const { seconds, workspaceId } of attempts) {
          const { status } = finished.get(workspaceId)!
          yield* Metric.increment(workspaceSyncs({ outcome: status }))
          yield* Metric.update(workspaceSyncDuration({ outcome: status }), seconds)
        }
        return begun.map((run) => finished.get(run.workspaceId) ?? outcomeOf(run))
      }
    )

    /** One workspace's night: a wave of one. */
    const syncWorkspace = (workspaceId: WorkspaceId, date: string): Effect.Effect<WorkspaceSyncOutcome> =>
      syncWave([workspaceId], date).pipe(
        Effect.map((outcomes) => outcomes[0]!),
        Effect.annotateSpans({ workspaceId })
      )

    return { syncWave, syncWorkspace } as const
  }),
  dependencies: [ConnectionResolver.Default, ExperimentSyncRepo.Default]
}) {}
