import { ClusterCron } from "@effect/cluster"
import { Activity, Workflow } from "@effect/workflow"
import { AMPLITUDE_PROVIDER } from "@findry/amplitude-adapter"
import { WorkspaceId } from "@findry/domain"
import { ExperimentSyncRepo } from "@findry/persistence"
import { Cron, DateTime, Effect, Fiber, Layer, Schema } from "effect"
import { ExperimentSync, ExperimentSyncSettings, WorkspaceSyncOutcome } from "./ExperimentSync.js"

/** A night of the sync, `YYYY-MM-DD` (UTC). */
export const SyncDate = Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}$/))

/**
 * One workspace's night as a workflow of its own: how earlier versions ran a night, a child per workspace. Nothing
 * starts it any more; it stays registered so that children a night started before an upgrade still finish (and
 * their messages do not wait for ever). Remove it once no stored execution of it can be unfinished.
 */
export const SyncWorkspace = Workflow.make({
  name: "ExperimentSync/Workspace",
  payload: { workspaceId: WorkspaceId, date: SyncDate },
  success: WorkspaceSyncOutcome,
  idempotencyKey: ({ date, workspaceId }) => `${workspaceId}/${date}`
})

const SyncWorkspaceLive = SyncWorkspace.toLayer(Effect.fn(function*({ date, workspaceId }) {
  const sync = yield* ExperimentSync
  return yield* Activity.make({
    name: "SyncWorkspace",
    success: WorkspaceSyncOutcome,
    execute: sync.syncWorkspace(workspaceId, date)
  })
}))

export class NightlySummary extends Schema.Class<NightlySummary>("NightlySummary")({
  date: Schema.String,
  workspaces: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  skipped: Schema.Number
}) {}

/** The night: syncs the workspaces to sync in waves, each wave one activity. */
export const NightlySync = Workflow.make({
  name: "ExperimentSync/Nightly",
  payload: { date: SyncDate },
  success: NightlySummary,
  idempotencyKey: ({ date }) => date
})

/** The workspaces of a wave: how many the list had after the previous wave's last, and the last of them. */
const WaveBounds = Schema.Struct({ listed: Schema.Number, last: Schema.NullOr(WorkspaceId) })

/** What a wave did: how many workspaces it read, the last one, and their outcomes. */
const WaveResult = Schema.Struct({
  listed: Schema.Number,
  last: Schema.NullOr(WorkspaceId),
  succeeded: Schema.Number,
  failed: Schema.Number,
  skipped: Schema.Number
})

/** Waves syncing at once: while one waits for Amplitude's answers, the other's work runs. */
export const WAVES_IN_FLIGHT = 2

/**
 * Waves of `waveSize` workspaces, at most `WAVES_IN_FLIGHT` at a time, so the work in flight is bounded. A wave is
 * two activities: the first reads the next keyset page of the workspace list (by id) and keeps only its size and
 * last id; the second syncs the workspaces from the previous wave's last id through that one
 * (`ExperimentSync.syncWave`: concurrent Amplitude calls, the wave's reads and writes batched) and stores only
 * their outcome counts, so neither the workflow's storage nor its memory grows with the number of workspaces,
 * and the engine's cost (messages, replies, polling) is paid per wave rather than per workspace. After a crash
 * the engine replays this body: finished activities answer from storage, and the waves in flight run again, where
 * each workspace whose night already finished answers its stored outcome without calling Amplitude.
 */
export const NightlySyncLive = NightlySync.toLayer(Effect.fn(function*({ date }) {
  const repo = yield* ExperimentSyncRepo
  const sync = yield* ExperimentSync
  const settings = yield* ExperimentSyncSettings
  const waveSize = Math.max(1, settings.waveSize)
  const counts = { workspaces: 0, succeeded: 0, failed: 0, skipped: 0 }
  const boundsAfter = (after: WorkspaceId | null) =>
    Effect.map(
      repo.workspacesToSync(AMPLITUDE_PROVIDER, { after, limit: waveSize }),
      (ids) => ({ listed: ids.length, last: ids.at(-1) ?? null })
    )
  const runWave = (after: WorkspaceId | null, through: WorkspaceId) =>
    Effect.gen(function*() {
      const ids = yield* repo.workspacesToSync(AMPLITUDE_PROVIDER, { after, through })
      const wave = { listed: ids.length, last: ids.at(-1) ?? null, succeeded: 0, failed: 0, skipped: 0 }
      const statuses = yield* sync.syncWave(ids, date).pipe(
        Effect.map((outcomes) => outcomes.map((outcome) => outcome.status)),
        Effect.catchAllDefect((defect) =>
          Effect.logError("Experiment sync of a wave died; its workspaces count as failed", defect).pipe(
            Effect.annotateLogs({ date, workspaces: ids.length }),
            Effect.as(ids.map(() => "failed" as const))
          )
        )
      )
      for (const status of statuses) wave[status]++
      return wave
    })
  const inFlight: Array<Fiber.Fiber<typeof WaveResult.Type>> = []
  const settleOldest = Effect.flatMap(Effect.suspend(() => Fiber.join(inFlight.shift()!)), (wave) =>
    Effect.sync(() => {
      counts.workspaces += wave.listed
      counts.succeeded += wave.succeeded
      counts.failed += wave.failed
      counts.skipped += wave.skipped
    }))
  let after: WorkspaceId | null = null
  for (let number = 1;; number++) {
    const bounds: typeof WaveBounds.Type = yield* Activity.make({
      name: `SyncWaveBounds/${number}`,
      success: WaveBounds,
      execute: boundsAfter(after)
    })
    if (bounds.last === null) break
    if (inFlight.length >= WAVES_IN_FLIGHT) yield* settleOldest
    inFlight.push(
      yield* Effect.fork(Activity.make({
        name: `SyncWave/${number}`,
        success: WaveResult,
        execute: runWave(after, bounds.last)
      }))
    )
    if (bounds.listed < waveSize) break
    after = bounds.last
  }
  while (inFlight.length > 0) yield* settleOldest
  const summary = new NightlySummary({ date, ...counts })
  yield* Effect.logInfo("Nightly experiment sync finished").pipe(Effect.annotateLogs({ ...summary }))
  return summary
}))

/**
 * The nightly workflow (and `SyncWorkspace`, for nights started by earlier versions), registered with the
 * `WorkflowEngine`. Needs `SqlClient`, `AmplitudeClient` and
 * `ExperimentSyncSettings` (`ExperimentSyncSettings.Default` in production).
 */
export const ExperimentSyncWorkflowsLive = Layer.mergeAll(NightlySyncLive, SyncWorkspaceLive).pipe(
  Layer.provide([ExperimentSync.Default, ExperimentSyncRepo.Default])
)

/** Starts tonight's `NightlySync` (idempotent per date): `discard` returns as soon as it is enqueued. */
export const startNightlySync = DateTime.now.pipe(
  Effect.flatMap((now) => NightlySync.execute({ date: DateTime.formatIsoDateUtc(now) }, { discard: true })),
  Effect.asVoid,
  Effect.withSpan("ExperimentSync.startNightly")
)

/** 07:15 UTC every day. */
export const NIGHTLY_SYNC_CRON = Cron.unsafeParse("15 7 * * *", "UTC")

/**
 * The cluster-wide cron, plus an hourly catch-up for the rest of the UTC day: cron slots missed during a
 * restart or rebalance are skipped by @effect/cluster, and a repeated start of the same night is a no-op.
 */
export const ExperimentSyncCronsLive = Layer.mergeAll(
  ClusterCron.make({
    name: "ExperimentSync/Nightly",
    cron: NIGHTLY_SYNC_CRON,
    execute: startNightlySync,
    skipIfOlderThan: "1 hour"
  }),
  ClusterCron.make({
    name: "ExperimentSync/NightlyCatchUp",
    cron: Cron.unsafeParse("45 7-23 * * *", "UTC"),
    execute: startNightlySync,
    skipIfOlderThan: "1 hour"
  })
)

/**
 * The experiment sync as a scheduler job: the workflow and both crons, with the production settings
 * (`FINDRY_SYNC_WAVE_SIZE` from the configuration). Needs a cluster `WorkflowEngine` and `Sharding`,
 * `AmplitudeClient` and the `SqlClient`.
 */
export const ExperimentSyncJobsLive = Layer.mergeAll(ExperimentSyncWorkflowsLive, ExperimentSyncCronsLive).pipe(
  Layer.provide(ExperimentSyncSettings.layerConfig)
)
