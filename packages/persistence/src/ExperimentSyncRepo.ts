import { SqlClient, SqlSchema } from "@effect/sql"
import { WorkspaceId } from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import type { ExperimentFields } from "./TestsRepo.js"

export const SyncRunStatus = Schema.Literal("running", "succeeded", "failed", "skipped")
export type SyncRunStatus = typeof SyncRunStatus.Type

/** The outcome of one workspace's experiment sync for one night. */
export class SyncRunRow extends Schema.Class<SyncRunRow>("SyncRunRow")({
  workspaceId: WorkspaceId,
  syncDate: Schema.String,
  status: SyncRunStatus,
  attempts: Schema.Number,
  testsTotal: Schema.Number,
  testsSynced: Schema.Number,
  experimentsArchived: Schema.Number,
  experimentsDeleted: Schema.Number,
  requests: Schema.Number,
  reason: Schema.NullOr(Schema.String),
  message: Schema.NullOr(Schema.String),
  startedAt: Schema.DateFromSelf,
  finishedAt: Schema.NullOr(Schema.DateFromSelf)
}) {}

export interface LinkedTest {
  readonly testId: string
  readonly experimentId: string
}

/** What one sync attempt learned; written in one transaction with the run's outcome. */
export interface SyncResult {
  readonly status: "succeeded" | "failed" | "skipped"
  /** Experiments Amplitude answered with (archived and deleted ones included). */
  readonly experiments: ReadonlyArray<ExperimentFields>
  /** Experiment ids Amplitude no longer knows (404): their tests keep the last data, marked deleted. */
  readonly gone: ReadonlyArray<string>
  /** Experiments that could not be refreshed, with the reason shown on their tests. */
  readonly failed: ReadonlyArray<{ readonly experimentId: string; readonly error: string }>
  readonly testsTotal: number
  readonly requests: number
  readonly reason: string | null
  readonly message: string | null
}

const runColumns = `
  workspace_id, sync_date::text AS sync_date, status, attempts, tests_total, tests_synced, experiments_archived,
  experiments_deleted, requests, reason, message, started_at, finished_at`

/**
 * The nightly experiment sync's storage: which workspaces to sync, their linked tests, and one outcome row per
 * (workspace, night) that makes a repeated attempt of a finished night a no-op.
 */
export class ExperimentSyncRepo extends Effect.Service<ExperimentSyncRepo>()(
  "@findry/persistence/ExperimentSyncRepo",
  {
    effect: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const runSelect = sql.unsafe(runColumns)

      /**
       * Workspaces with a live Amplitude connection, a management key and at least one linked test, in id order.
       * With `page`, at most `limit` of them after the id `after`: the nightly sync reads the list a wave at a
       * time instead of holding every id.
       */
      const workspacesToSync = (
        provider: string,
        page?: { readonly after: WorkspaceId | null; readonly limit: number }
      ): Effect.Effect<ReadonlyArray<WorkspaceId>> =>
        sql<{ workspaceId: WorkspaceId }>`
          SELECT i.workspace_id FROM integrations i
          WHERE i.provider = ${provider} AND i.status = 'connected' AND i.credential_3 IS NOT NULL
            AND EXISTS (
              SELECT 1 FROM tests t WHERE t.workspace_id = i.workspace_id AND t.amplitude_experiment_id IS NOT NULL)
            ${page?.after == null ? sql`` : sql`AND i.workspace_id > ${page.after}`}
          ORDER BY i.workspace_id
          ${page === undefined ? sql`` : sql`LIMIT ${page.limit}`}`.pipe(
          Effect.map((rows) => rows.map((row) => row.workspaceId)),
          Effect.orDie,
          Effect.withSpan("ExperimentSyncRepo.workspacesToSync")
        )

      const linkedTests = (workspaceId: WorkspaceId): Effect.Effect<ReadonlyArray<LinkedTest>> =>
        sql<LinkedTest>`
          SELECT id AS test_id, amplitude_experiment_id AS experiment_id FROM tests
          WHERE workspace_id = ${workspaceId} AND amplitude_experiment_id IS NOT NULL
          ORDER BY id`.pipe(Effect.orDie, Effect.withSpan("ExperimentSyncRepo.linkedTests"))

      const findRun = SqlSchema.findOne({
        Request: Schema.Struct({ workspaceId: Schema.String, syncDate: Schema.String }),
        Result: SyncRunRow,
        execute: ({ syncDate, workspaceId }) =>
          sql`SELECT ${runSelect} FROM experiment_sync_runs
              WHERE workspace_id = ${workspaceId} AND sync_date = ${syncDate}::date`
      })

      const decodeRun = Schema.decodeUnknown(SyncRunRow)

      /**
       * Marks the night as started for the workspace and counts the attempt. A night that already finished is
       * returned as it is, untouched.
       */
      const begin = (workspaceId: WorkspaceId, syncDate: string): Effect.Effect<SyncRunRow> =>
        sql`
          INSERT INTO experiment_sync_runs (workspace_id, sync_date, status, attempts, started_at)
          VALUES (${workspaceId}, ${syncDate}::date, 'running', 1, now())
          ON CONFLICT (workspace_id, sync_date) DO UPDATE SET
            attempts = experiment_sync_runs.attempts + CASE WHEN experiment_sync_runs.status = 'running' THEN 1 ELSE 0 END
          RETURNING ${runSelect}`.pipe(
          Effect.flatMap((rows) => decodeRun(rows[0])),
          Effect.orDie,
          Effect.withSpan("ExperimentSyncRepo.begin")
        )

      /**
       * Stores what the attempt learned and the night's outcome, once: when the night already finished (an
       * earlier attempt got there first) nothing is written and the stored outcome is returned.
       */
      const finish = (workspaceId: WorkspaceId, syncDate: string, result: SyncResult): Effect.Effect<SyncRunRow> =>
        sql.withTransaction(Effect.gen(function*() {
          const current = yield* sql<{ status: SyncRunStatus }>`
            SELECT status FROM experiment_sync_runs
            WHERE workspace_id = ${workspaceId} AND sync_date = ${syncDate}::date FOR UPDATE`
          if (current[0] !== undefined && current[0].status !== "running") {
            return Option.getOrThrow(yield* findRun({ workspaceId, syncDate }))
          }
          let testsSynced = 0
          if (result.experiments.length > 0) {
            const updated = yield* sql<{ testId: string }>`
              UPDATE experiment_snapshots s SET
                key = u.key, name = u.name, state = u.state, decision = u.decision, start_date = u."startDate",
                end_date = u."endDate", variants = u.variants, archived = u.archived, deleted = u.deleted,
                synced_at = now(), sync_status = 'synced', sync_error = NULL, last_attempt_at = now()
              FROM jsonb_to_recordset(${JSON.stringify(result.experiments)}::jsonb) AS u(
                "experimentId" text, key text, name text, state text, decision text, "startDate" text,
                "endDate" text, variants jsonb, archived boolean, deleted boolean)
              WHERE s.workspace_id = ${workspaceId} AND s.experiment_id = u."experimentId"
              RETURNING s.test_id`
            testsSynced = updated.length
          }
          if (result.gone.length > 0) {
            const updated = yield* sql<{ testId: string }>`
              UPDATE experiment_snapshots SET
                deleted = true, synced_at = now(), sync_status = 'synced', sync_error = NULL, last_attempt_at = now()
              WHERE workspace_id = ${workspaceId}
                AND experiment_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(result.gone)}::jsonb))
              RETURNING test_id`
            testsSynced += updated.length
          }
          if (result.failed.length > 0) {
            yield* sql`
              UPDATE experiment_snapshots s SET sync_status = 'failed', sync_error = u.error, last_attempt_at = now()
              FROM jsonb_to_recordset(${JSON.stringify(result.failed)}::jsonb) AS u("experimentId" text, error text)
              WHERE s.workspace_id = ${workspaceId} AND s.experiment_id = u."experimentId"`
          }
          const archived = result.experiments.filter((e) => e.archived && !e.deleted).length
          const deleted = result.experiments.filter((e) => e.deleted).length + result.gone.length
          const rows = yield* sql`
            INSERT INTO experiment_sync_runs (
              workspace_id, sync_date, status, attempts, tests_total, tests_synced, experiments_archived,
              experiments_deleted, requests, reason, message, started_at, finished_at)
            VALUES (
              ${workspaceId}, ${syncDate}::date, ${result.status}, 1, ${result.testsTotal}, ${testsSynced},
              ${archived}, ${deleted}, ${result.requests}, ${result.reason}, ${result.message}, now(), now())
            ON CONFLICT (workspace_id, sync_date) DO UPDATE SET
              status = EXCLUDED.status, tests_total = EXCLUDED.tests_total, tests_synced = EXCLUDED.tests_synced,
              experiments_archived = EXCLUDED.experiments_archived,
              experiments_deleted = EXCLUDED.experiments_deleted, requests = EXCLUDED.requests,
              reason = EXCLUDED.reason, message = EXCLUDED.message, finished_at = now()
            RETURNING ${runSelect}`
          return yield* decodeRun(rows[0])
        })).pipe(Effect.orDie, Effect.withSpan("ExperimentSyncRepo.finish"))

      /**
       * Lets the night be attempted again when it finished `failed` or `skipped` (an operator's re-run after
       * fixing the cause); a `succeeded` or `running` night is left alone. True when it was reopened.
       */
      const reopen = (workspaceId: WorkspaceId, syncDate: string): Effect.Effect<boolean> =>
        sql`
          UPDATE experiment_sync_runs SET status = 'running', finished_at = NULL
          WHERE workspace_id = ${workspaceId} AND sync_date = ${syncDate}::date AND status IN ('failed', 'skipped')
          RETURNING workspace_id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie,
          Effect.withSpan("ExperimentSyncRepo.reopen")
        )

      const run = (workspaceId: WorkspaceId, syncDate: string): Effect.Effect<Option.Option<SyncRunRow>> =>
        findRun({ workspaceId, syncDate }).pipe(Effect.orDie, Effect.withSpan("ExperimentSyncRepo.run"))

      const latestRun = SqlSchema.findOne({
        Request: Schema.String,
        Result: SyncRunRow,
        execute: (workspaceId) =>
          sql`SELECT ${runSelect} FROM experiment_sync_runs WHERE workspace_id = ${workspaceId}
              ORDER BY sync_date DESC LIMIT 1`
      })

      const runsOn = SqlSchema.findAll({
        Request: Schema.String,
        Result: SyncRunRow,
        execute: (syncDate) =>
          sql`SELECT ${runSelect} FROM experiment_sync_runs WHERE sync_date = ${syncDate}::date ORDER BY workspace_id`
      })

      return {
        workspacesToSync,
        linkedTests,
        begin,
        finish,
        reopen,
        run,
        latest: (workspaceId: WorkspaceId): Effect.Effect<Option.Option<SyncRunRow>> =>
          latestRun(workspaceId).pipe(Effect.orDie, Effect.withSpan("ExperimentSyncRepo.latest")),
        /** Every workspace's outcome for one night. */
        runsOn: (syncDate: string): Effect.Effect<ReadonlyArray<SyncRunRow>> =>
          runsOn(syncDate).pipe(Effect.orDie, Effect.withSpan("ExperimentSyncRepo.runsOn"))
      } as const
    })
  }
) {}
