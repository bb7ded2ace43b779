import { SqlClient, SqlSchema } from "@effect/sql"
import { WorkspaceId } from "@findry/domain"
import type { Option } from "effect"
import { Effect, Schema } from "effect"
import type { ExperimentFields } from "./TestsRepo.js"
import { uuidList } from "./UuidList.js"

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

const byWorkspaceId = (runs: ReadonlyArray<SyncRunRow>): ReadonlyArray<SyncRunRow> =>
  [...runs].sort((a, b) => a.workspaceId < b.workspaceId ? -1 : a.workspaceId > b.workspaceId ? 1 : 0)

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
       * With `page`, those after the id `after`, at most `limit` of them and none past `through`: the nightly sync
       * reads the list a wave at a time instead of holding every id.
       */
      const workspacesToSync = (
        provider: string,
        page?: { readonly after: WorkspaceId | null; readonly limit?: number; readonly through?: WorkspaceId }
      ): Effect.Effect<ReadonlyArray<WorkspaceId>> =>
        sql<{ workspaceId: WorkspaceId }>`
          SELECT i.workspace_id FROM integrations i
          WHERE i.provider = ${provider} AND i.status = 'connected' AND i.credential_3 IS NOT NULL
            AND EXISTS (
              SELECT 1 FROM tests t WHERE t.workspace_id = i.workspace_id AND t.amplitude_experiment_id IS NOT NULL)
            ${page?.after == null ? sql`` : sql`AND i.workspace_id > ${page.after}`}
            ${page?.through === undefined ? sql`` : sql`AND i.workspace_id <= ${page.through}`}
          ORDER BY i.workspace_id
          ${page?.limit === undefined ? sql`` : sql`LIMIT ${page.limit}`}`.pipe(
          Effect.map((rows) => rows.map((row) => row.workspaceId)),
          Effect.orDie,
          Effect.withSpan("ExperimentSyncRepo.workspacesToSync")
        )

      /** Each workspace's linked tests (only workspaces that have some), in test id order. */
      const linkedTestsOf = (
        workspaceIds: ReadonlyArray<WorkspaceId>
      ): Effect.Effect<ReadonlyMap<WorkspaceId, ReadonlyArray<LinkedTest>>> =>
        (workspaceIds.length === 0 ? Effect.succeed<ReadonlyArray<LinkedTest & { workspaceId: WorkspaceId }>>([]) : sql<
          LinkedTest & { workspaceId: WorkspaceId }
        >`
          SELECT workspace_id, id AS test_id, amplitude_experiment_id AS experiment_id FROM tests
          WHERE workspace_id IN ${uuidList(sql, workspaceIds)}
            AND amplitude_experiment_id IS NOT NULL
          ORDER BY workspace_id, id`).pipe(
          Effect.map((rows) => {
            const byWorkspace = new Map<WorkspaceId, Array<LinkedTest>>()
            for (const { experimentId, testId, workspaceId } of rows) {
              const tests = byWorkspace.get(workspaceId)
              if (tests === undefined) byWorkspace.set(workspaceId, [{ testId, experimentId }])
              else tests.push({ testId, experimentId })
            }
            return byWorkspace
          }),
          Effect.orDie,
          Effect.withSpan("ExperimentSyncRepo.linkedTests", { attributes: { workspaces: workspaceIds.length } })
        )

      const runsOf = (workspaceIds: ReadonlyArray<WorkspaceId>, syncDate: string) =>
        sql`SELECT ${runSelect} FROM experiment_sync_runs
            WHERE sync_date = ${syncDate}::date
              AND workspace_id IN ${uuidList(sql, workspaceIds)}`

      const findRun = SqlSchema.findOne({
        Request: Schema.Struct({ workspaceId: Schema.String, syncDate: Schema.String }),
        Result: SyncRunRow,
        execute: ({ syncDate, workspaceId }) =>
          sql`SELECT ${runSelect} FROM experiment_sync_runs
              WHERE workspace_id = ${workspaceId} AND sync_date = ${syncDate}::date`
      })

      const decodeRuns = Schema.decodeUnknown(Schema.Array(SyncRunRow))

      /**
       * Marks the night as started for each workspace and counts the attempt, in one statement. A night that
       * already finished is returned as it is, untouched. One row per distinct workspace, in id order.
       */
      const beginAll = (
        workspaceIds: ReadonlyArray<WorkspaceId>,
        syncDate: string
      ): Effect.Effect<ReadonlyArray<SyncRunRow>> =>
        (workspaceIds.length === 0 ? Effect.succeed<ReadonlyArray<unknown>>([]) : sql`
          INSERT INTO experiment_sync_runs (workspace_id, sync_date, status, attempts, started_at)
          SELECT w, ${syncDate}::date, 'running', 1, now() FROM ${uuidList(sql, workspaceIds)} AS ids
          ON CONFLICT (workspace_id, sync_date) DO UPDATE SET
            attempts = experiment_sync_runs.attempts + CASE WHEN experiment_sync_runs.status = 'running' THEN 1 ELSE 0 END
          RETURNING ${runSelect}`).pipe(
          Effect.flatMap(decodeRuns),
          Effect.map(byWorkspaceId),
          Effect.orDie,
          Effect.withSpan("ExperimentSyncRepo.begin", { attributes: { workspaces: workspaceIds.length } })
        )

      /**
       * Stores what each attempt learned and the night's outcome, in one transaction whatever the number of
       * workspaces, once per workspace: where the night already finished (an earlier attempt got there first)
       * nothing is written for it and its stored outcome is returned. One row per distinct workspace, in id order.
       */
      const finishAll = (
        syncDate: string,
        attempts: ReadonlyArray<{ readonly workspaceId: WorkspaceId; readonly result: SyncResult }>
      ): Effect.Effect<ReadonlyArray<SyncRunRow>> => {
        const latest = new Map(attempts.map((attempt) => [attempt.workspaceId, attempt.result]))
        const ids = [...latest.keys()]
        if (ids.length === 0) return Effect.succeed([])
        return sql.withTransaction(Effect.gen(function*() {
          // Row locks in id order: a second attempt of the same wave waits here, then finds the nights finished.
          const current = yield* sql<{ workspaceId: WorkspaceId; status: SyncRunStatus }>`
            SELECT workspace_id, status FROM experiment_sync_runs
            WHERE sync_date = ${syncDate}::date
              AND workspace_id IN ${uuidList(sql, ids)}
            ORDER BY workspace_id FOR UPDATE`
          const finished = new Set(current.filter((run) => run.status !== "running").map((run) => run.workspaceId))
          const open = ids.flatMap((workspaceId) =>
            finished.has(workspaceId) ? [] : [{ workspaceId, result: latest.get(workspaceId)! }]
          )
          const synced = new Map<string, number>()
          const countSynced = (rows: ReadonlyArray<{ readonly workspaceId: string }>) => {
            for (const { workspaceId } of rows) synced.set(workspaceId, (synced.get(workspaceId) ?? 0) + 1)
          }
          const refreshed = open.flatMap(({ result, workspaceId }) =>
            result.experiments.map((experiment) => ({ ...experiment, workspaceId }))
          )
          if (refreshed.length > 0) {
            countSynced(
              yield* sql<{ workspaceId: string }>`
                UPDATE experiment_snapshots s SET
                  key = u.key, name = u.name, state = u.state, decision = u.decision, start_date = u."startDate",
                  end_date = u."endDate", variants = u.variants, archived = u.archived, deleted = u.deleted,
                  synced_at = now(), sync_status = 'synced', sync_error = NULL, last_attempt_at = now()
                FROM jsonb_to_recordset(${JSON.stringify(refreshed)}::jsonb) AS u(
                  "workspaceId" uuid, "experimentId" text, key text, name text, state text, decision text,
                  "startDate" text, "endDate" text, variants jsonb, archived boolean, deleted boolean)
                WHERE s.workspace_id = u."workspaceId" AND s.experiment_id = u."experimentId"
                RETURNING s.workspace_id`
            )
          }
          const gone = open.flatMap(({ result, workspaceId }) =>
            result.gone.map((experimentId) => ({ workspaceId, experimentId }))
          )
          if (gone.length > 0) {
            countSynced(
              yield* sql<{ workspaceId: string }>`
                UPDATE experiment_snapshots s SET
                  deleted = true, synced_at = now(), sync_status = 'synced', sync_error = NULL, last_attempt_at = now()
                FROM jsonb_to_recordset(${JSON.stringify(gone)}::jsonb) AS u("workspaceId" uuid, "experimentId" text)
                WHERE s.workspace_id = u."workspaceId" AND s.experiment_id = u."experimentId"
                RETURNING s.workspace_id`
            )
          }
          const failed = open.flatMap(({ result, workspaceId }) =>
            result.failed.map((failure) => ({ ...failure, workspaceId }))
          )
          if (failed.length > 0) {
            yield* sql`
              UPDATE experiment_snapshots s SET sync_status = 'failed', sync_error = u.error, last_attempt_at = now()
              FROM jsonb_to_recordset(${JSON.stringify(failed)}::jsonb) AS u(
                "workspaceId" uuid, "experimentId" text, error text)
              WHERE s.workspace_id = u."workspaceId" AND s.experiment_id = u."experimentId"`
          }
          const outcomes = open.map(({ result, workspaceId }) => ({
            workspaceId,
            status: result.status,
            testsTotal: result.testsTotal,
            testsSynced: synced.get(workspaceId) ?? 0,
            archived: result.experiments.filter((e) => e.archived && !e.deleted).length,
            deleted: result.experiments.filter((e) => e.deleted).length + result.gone.length,
            requests: result.requests,
            reason: result.reason,
            message: result.message
          }))
          const written = outcomes.length === 0 ? [] : yield* sql`
            INSERT INTO experiment_sync_runs (
              workspace_id, sync_date, status, attempts, tests_total, tests_synced, experiments_archived,
              experiments_deleted, requests, reason, message, started_at, finished_at)
            SELECT
              u."workspaceId", ${syncDate}::date, u.status, 1, u."testsTotal", u."testsSynced", u.archived,
              u.deleted, u.requests, u.reason, u.message, now(), now()
            FROM jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb) AS u(
              "workspaceId" uuid, status text, "testsTotal" integer, "testsSynced" integer, archived integer,
              deleted integer, requests integer, reason text, message text)
            ON CONFLICT (workspace_id, sync_date) DO UPDATE SET
              status = EXCLUDED.status, tests_total = EXCLUDED.tests_total, tests_synced = EXCLUDED.tests_synced,
              experiments_archived = EXCLUDED.experiments_archived,
              experiments_deleted = EXCLUDED.experiments_deleted, requests = EXCLUDED.requests,
              reason = EXCLUDED.reason, message = EXCLUDED.message, finished_at = now()
            RETURNING ${runSelect}`
          const kept = finished.size === 0 ? [] : yield* runsOf([...finished], syncDate)
          return byWorkspaceId(yield* decodeRuns([...written, ...kept]))
        })).pipe(
          Effect.orDie,
          Effect.withSpan("ExperimentSyncRepo.finish", { attributes: { workspaces: attempts.length } })
        )
      }

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
        linkedTestsOf,
        linkedTests: (workspaceId: WorkspaceId): Effect.Effect<ReadonlyArray<LinkedTest>> =>
          Effect.map(linkedTestsOf([workspaceId]), (byWorkspace) => byWorkspace.get(workspaceId) ?? []),
        beginAll,
        begin: (workspaceId: WorkspaceId, syncDate: string): Effect.Effect<SyncRunRow> =>
          Effect.map(beginAll([workspaceId], syncDate), (runs) => runs[0]!),
        finishAll,
        finish: (workspaceId: WorkspaceId, syncDate: string, result: SyncResult): Effect.Effect<SyncRunRow> =>
          Effect.map(finishAll(syncDate, [{ workspaceId, result }]), (runs) => runs[0]!),
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
