import { AMPLITUDE_PROVIDER } from "@findry/amplitude-adapter"
import { clusterSharding } from "@findry/annotations"
import type { WorkspaceId } from "@findry/domain"
import { ExperimentSync, ExperimentSyncSettings, NightlySync } from "@findry/experiment-sync"
import { ExperimentSyncRepo, OperatorStatus, type SyncRunRow } from "@findry/persistence"
import { AmplitudeLive, ClusterClientLive, SqlLive } from "@findry/runtime"
import { Config, Console, DateTime, Duration, Effect, Exit, Layer, Option } from "effect"
import { CommandFailed } from "./Errors.js"
import { formatSeconds, printJson, progressReporter, type ProgressSink } from "./Output.js"

const today = Effect.map(DateTime.now, DateTime.formatIsoDateUtc)

/** What `sync run --workspace` reports. */
const workspaceReport = (row: SyncRunRow, alreadySynced: boolean) => ({
  workspaceId: row.workspaceId,
  date: row.syncDate,
  status: row.status,
  alreadySynced,
  testsTotal: row.testsTotal,
  testsSynced: row.testsSynced,
  experimentsArchived: row.experimentsArchived,
  experimentsDeleted: row.experimentsDeleted,
  attempts: row.attempts,
  reason: row.reason,
  message: row.message
})

/**
 * Runs one workspace's experiment sync for today (UTC) in this process, exactly as a wave of the nightly sync does: a
 * night that already succeeded is not synced again; one that failed or was skipped is attempted again.
 * Fails (exit 1) when the sync failed.
 */
export const syncWorkspace = (workspaceId: WorkspaceId, options: { readonly json: boolean }) =>
  Effect.gen(function*() {
    const status = yield* OperatorStatus
    if (!(yield* status.workspaceExists(workspaceId))) {
      return yield* new CommandFailed({ message: `No workspace ${workspaceId}: check the id.` })
    }
    const runs = yield* ExperimentSyncRepo
    const sync = yield* ExperimentSync
    const date = yield* today
    const before = yield* runs.run(workspaceId, date)
    const alreadySynced = Option.isSome(before) && before.value.status === "succeeded"
    if (!alreadySynced) yield* runs.reopen(workspaceId, date)
    yield* sync.syncWorkspace(workspaceId, date)
    const row = Option.getOrThrow(yield* runs.run(workspaceId, date))
    const report = workspaceReport(row, alreadySynced)
    if (options.json) yield* printJson(report)
    else {
      yield* Console.log(
        `Workspace ${workspaceId}, night ${date}: ${row.status}` +
          (alreadySynced ? " (already synced today: not synced again)" : "") +
          `. Tests synced ${row.testsSynced}/${row.testsTotal}, archived ${row.experimentsArchived}, ` +
          `deleted ${row.experimentsDeleted}.` +
          (row.reason === null ? "" : ` Reason: ${row.reason}${row.message === null ? "" : ` (${row.message})`}`)
      )
    }
    if (row.status === "failed") {
      return yield* new CommandFailed({
        message: `The sync of workspace ${workspaceId} failed (${row.reason ?? "unknown"}): fix the cause ` +
          `(e.g. the Management API key) and run it again.`
      })
    }
  })

/** `sync run --workspace`'s services on top of the `SqlClient`. */
export const SyncWorkspaceLive = Layer.mergeAll(
  ExperimentSync.Default,
  ExperimentSyncRepo.Default,
  OperatorStatus.Default
)
  .pipe(Layer.provide([AmplitudeLive, ExperimentSyncSettings.Default]))

/** A malformed `DATABASE_URL` is a configuration error naming it (its value is never printed). */
export const DatabaseUrlCheck = Layer.effectDiscard(Config.option(Config.url("DATABASE_URL")))

/**
 * A client-only node of the runners' cluster (it enqueues and reads replies, runs nothing), on the service's
 * PostgreSQL: `DATABASE_URL` is required, the embedded database serves one process only.
 */
export const ClusterClientOnDatabaseLive = Layer.unwrapEffect(Effect.as(
  Config.redacted("DATABASE_URL"),
  ClusterClientLive.pipe(
    Layer.provideMerge(Layer.mergeAll(ExperimentSyncRepo.Default, OperatorStatus.Default)),
    Layer.provideMerge(SqlLive)
  )
)).pipe(Layer.provide(DatabaseUrlCheck))

const aliveWithinSeconds = Math.ceil(Duration.toSeconds(clusterSharding.shardLockExpiration ?? Duration.seconds(6)))

/** Scheduler runners alive now (a heartbeat within the shard lock's expiry). */
export const runnerCount = Effect.flatMap(OperatorStatus, (status) => status.runners(aliveWithinSeconds)).pipe(
  Effect.map((runners) => runners.filter((runner) => runner.alive).length)
)

/**
 * Starts today's (UTC) `NightlySync` workflow, the one the scheduler's cron starts (a night runs once: when it
 * already ran today, this reports its outcome), and follows it through what it records per workspace until it
 * completes or `timeout` passes. Fails (exit 1) when no runner is alive, when a workspace failed, or on timeout.
 */
export const syncAll = (
  options: { readonly json: boolean; readonly timeout: Duration.Duration; readonly sink: ProgressSink }
) =>
  Effect.gen(function*() {
    if ((yield* runnerCount) === 0) {
      return yield* new CommandFailed({
        message:
          "No scheduler runner is alive (cluster_runners): start a process with FINDRY_ROLE=all or worker on this " +
          "database, then run this again. Nothing was enqueued."
      })
    }
    const runs = yield* ExperimentSyncRepo
    const date = yield* today
    const listed = new Set(yield* runs.workspacesToSync(AMPLITUDE_PROVIDER))
    const executionId = yield* NightlySync.execute({ date }, { discard: true })
    const progress = progressReporter(options.sink)

    const observe = Effect.gen(function*() {
      const finished = (yield* runs.runsOn(date)).filter((run) => run.status !== "running")
      const counted = finished.filter((run) => listed.has(run.workspaceId))
      yield* progress.update({
        done: counted.length,
        total: Math.max(listed.size, counted.length),
        failed: counted.filter((run) => run.status === "failed").length
      })
      const result = yield* NightlySync.poll(executionId)
      return result?._tag === "Complete" ? Option.some(result.exit) : Option.none()
    })

    const completion = Effect.gen(function*() {
      while (true) {
        const exit = yield* observe
        if (Option.isSome(exit)) return exit.value
        yield* Effect.sleep("250 millis")
      }
    })
    const exit = yield* completion.pipe(
      Effect.timeout(options.timeout),
      Effect.ensuring(progress.finish),
      Effect.catchTag("TimeoutException", () =>
        new CommandFailed({
          message: `The sync of ${date} was still running after ${
            formatSeconds(Duration.toSeconds(options.timeout))
          }; it goes on in the runners: \`findry jobs status\` shows how far it got.`
        }))
    )
    if (Exit.isFailure(exit)) {
      return yield* new CommandFailed({
        message: `The nightly sync workflow of ${date} failed; see the runners' logs.`
      })
    }
    const summary = exit.value
    const failures = (yield* runs.runsOn(date))
      .filter((run) => run.status === "failed")
      .map((run) => ({ workspaceId: run.workspaceId, reason: run.reason, message: run.message }))
    if (options.json) {
      yield* printJson({
        date,
        workspaces: summary.workspaces,
        succeeded: summary.succeeded,
        failed: summary.failed,
        skipped: summary.skipped,
        failures
      })
    } else {
      yield* Console.log(
        `Night ${date}: ${summary.workspaces} workspaces, ${summary.succeeded} succeeded, ${summary.failed} failed, ` +
          `${summary.skipped} skipped.`
      )
      for (const failure of failures) {
        yield* Console.log(
          `  failed ${failure.workspaceId}: ${failure.reason ?? "-"} ${failure.message ?? ""}`.trimEnd()
        )
      }
    }
    if (summary.failed > 0) {
      return yield* new CommandFailed({
        message:
          `${summary.failed} workspace(s) failed to sync: fix the cause, then \`findry sync run --workspace <id>\`.`
      })
    }
  })
