import { ClusterCron } from "@effect/cluster"
import { Activity, Workflow } from "@effect/workflow"
import { AMPLITUDE_PROVIDER } from "@findry/amplitude-adapter"
import { WorkspaceId } from "@findry/domain"
import { ExperimentSyncRepo } from "@findry/persistence"
import { Cron, DateTime, Effect, Layer, Schema } from "effect"
import { ExperimentSync, ExperimentSyncSettings, WorkspaceSyncOutcome } from "./ExperimentSync.js"

/** A night of the sync, `YYYY-MM-DD` (UTC). */
export const SyncDate = Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}$/))

/** One workspace's sync for one night; a second start for the same night returns the first one's outcome. */
export const SyncWorkspace = Workflow.make({
  name: "ExperimentSync/Workspace",
  payload: { workspaceId: WorkspaceId, date: SyncDate },
  success: WorkspaceSyncOutcome,
  idempotencyKey: ({ date, workspaceId }) => `${workspaceId}/${date}`
})

export class NightlySummary extends Schema.Class<NightlySummary>("NightlySummary")({
  date: Schema.String,
  workspaces: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  skipped: Schema.Number
}) {}

/** The night's parent: lists the workspaces to sync and runs their `SyncWorkspace` children in waves. */
export const NightlySync = Workflow.make({
  name: "ExperimentSync/Nightly",
  payload: { date: SyncDate },
  success: NightlySummary,
  idempotencyKey: ({ date }) => date
})

export const SyncWorkspaceLive = SyncWorkspace.toLayer(Effect.fn(function*({ date, workspaceId }) {
  const sync = yield* ExperimentSync
  return yield* Activity.make({
    name: "SyncWorkspace",
    success: WorkspaceSyncOutcome,
    execute: sync.syncWorkspace(workspaceId, date)
  })
}))

const defectOutcome = (workspaceId: string) =>
  new WorkspaceSyncOutcome({ workspaceId, status: "failed", testsTotal: 0, testsSynced: 0, reason: "defect" })

/**
 * Waves of `waveSize` children, each wave awaited before the next starts (@effect/cluster 0.60 has no admission
 * control, so the fan-out is bounded here). The workspace list is read a wave at a time (keyset pages by id, each
 * page an activity of its own), and only the counts of the outcomes are kept, so the parent's memory does not grow
 * with the number of workspaces. After a crash the engine replays this body: stored pages and children that
 * finished answer from storage at once, so the night resumes at the first unfinished wave without syncing a
 * finished workspace again.
 */
export const NightlySyncLive = NightlySync.toLayer(Effect.fn(function*({ date }) {
  const repo = yield* ExperimentSyncRepo
  const settings = yield* ExperimentSyncSettings
  const waveSize = Math.max(1, settings.waveSize)
  const counts = { workspaces: 0, succeeded: 0, failed: 0, skipped: 0 }
  let after: WorkspaceId | null = null
  for (let wave = 1;; wave++) {
    const ids: ReadonlyArray<WorkspaceId> = yield* Activity.make({
      name: `ListWorkspaces/${wave}`,
      success: Schema.Array(WorkspaceId),
      execute: repo.workspacesToSync(AMPLITUDE_PROVIDER, { after, limit: waveSize })
    })
    yield* Effect.forEach(
      ids,
      (workspaceId) =>
        SyncWorkspace.execute({ workspaceId, date }).pipe(
          Effect.catchAllDefect((defect) =>
            Effect.logError("Experiment sync of a workspace died", defect).pipe(
              Effect.annotateLogs({ workspaceId, date }),
              Effect.as(defectOutcome(workspaceId))
            )
          ),
          Effect.map((outcome) => {
            counts[outcome.status]++
          })
        ),
      { concurrency: "unbounded", discard: true }
    )
    counts.workspaces += ids.length
    if (ids.length < waveSize) break
    after = ids[ids.length - 1]!
  }
  const summary = new NightlySummary({ date, ...counts })
  yield* Effect.logInfo("Nightly experiment sync finished").pipe(Effect.annotateLogs({ ...summary }))
  return summary
}))

/**
 * Both workflows, registered with the `WorkflowEngine`. Needs `SqlClient`, `AmplitudeClient` and
 * `ExperimentSyncSettings` (`ExperimentSyncSettings.Default` in production).
 */
export const ExperimentSyncWorkflowsLive = Layer.mergeAll(SyncWorkspaceLive, NightlySyncLive).pipe(
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
 * The experiment sync as a scheduler job: both workflows and both crons, with the production settings
 * (`FINDRY_SYNC_WAVE_SIZE` from the configuration). Needs a cluster `WorkflowEngine` and `Sharding`,
 * `AmplitudeClient` and the `SqlClient`.
 */
export const ExperimentSyncJobsLive = Layer.mergeAll(ExperimentSyncWorkflowsLive, ExperimentSyncCronsLive).pipe(
  Layer.provide(ExperimentSyncSettings.layerConfig)
)
