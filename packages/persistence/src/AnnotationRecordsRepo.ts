import { SqlClient, type Statement } from "@effect/sql"
import { AnnotationKind, AnnotationStatus, BetId, WorkspaceId } from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import type { AnnotationPushSettings } from "./IntegrationsRepo.js"

/**
 * One row per (bet, kind): the annotation Findry wants in Amplitude (`label`, `annotationAt`, `revision`) and
 * what was pushed (`amplitudeAnnotationId`, `pushedRevision`, `lastPushedAt`).
 */
export class AnnotationRecord extends Schema.Class<AnnotationRecord>("AnnotationRecord")({
  betId: BetId,
  kind: AnnotationKind,
  workspaceId: WorkspaceId,
  status: AnnotationStatus,
  amplitudeAnnotationId: Schema.NullOr(Schema.Number),
  label: Schema.String,
  annotationAt: Schema.DateFromSelf,
  revision: Schema.Number,
  pushedRevision: Schema.NullOr(Schema.Number),
  lastPushedAt: Schema.NullOr(Schema.DateFromSelf),
  reason: Schema.NullOr(Schema.String),
  searchFrom: Schema.NullOr(Schema.DateFromSelf),
  searchTo: Schema.NullOr(Schema.DateFromSelf),
  executionId: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  updatedAt: Schema.DateFromSelf,
  /** The Amplitude project (fingerprint) the latest revision was aimed at; null if never connected. */
  projectFingerprint: Schema.NullOr(Schema.String),
  /** `last_validated_at` of the keys the latest attempt started with. */
  attemptKeysAt: Schema.NullOr(Schema.DateFromSelf),
  /** Ended in a state that fresh keys or a reconnect to `projectFingerprint` may fix (see `retryable`). */
  retryable: Schema.Boolean
}) {}

export interface DesiredAnnotation {
  readonly workspaceId: WorkspaceId
  readonly betId: BetId
  readonly kind: AnnotationKind
  readonly label: string
  readonly at: Date
  /** The workspace's Amplitude project (connected or not) when the revision is recorded; null if none. */
  readonly projectFingerprint: string | null
}

/** What a new revision is: to push, or skipped with the reason (`retryable`: a reconnect may push it after all). */
export type RevisionOutcome =
  | { readonly status: "pending" }
  | { readonly status: "skipped"; readonly reason: string; readonly retryable?: boolean }

export interface RecordKey {
  readonly betId: BetId
  readonly kind: AnnotationKind
}

const AMPLITUDE = "amplitude"

const columns = `
  bet_id, kind, workspace_id, status, amplitude_annotation_id::float8 AS amplitude_annotation_id, label,
  annotation_at, revision, pushed_revision, last_pushed_at, reason, search_from, search_to, execution_id, attempts,
  updated_at, project_fingerprint, attempt_keys_at, retryable`

export class AnnotationRecordsRepo extends Effect.Service<AnnotationRecordsRepo>()(
  "@findry/persistence/AnnotationRecordsRepo",
  {
    effect: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const select = sql.unsafe(columns)
      const decode = Schema.decodeUnknown(Schema.Array(AnnotationRecord))

      const rows = (name: string, statement: Statement.Statement<unknown>) =>
        statement.pipe(Effect.flatMap(decode), Effect.orDie, Effect.withSpan(`AnnotationRecordsRepo.${name}`))
      const one = (name: string, statement: Statement.Statement<unknown>) =>
        Effect.map(rows(name, statement), (found) => Option.fromNullable(found[0]))

      /**
       * A new revision of each annotation: `pending` (to push) or `skipped` with a reason (`retryable` when a
       * reconnect to the same project may push it after all), in one statement. Keeps the Amplitude id and widens
       * the window the marker search covers. Returns the records with their new revisions, in no particular order;
       * a (bet, kind) given twice is written once, as last given.
       */
      const upsertAll = (
        revisions: ReadonlyArray<{ readonly desired: DesiredAnnotation; readonly outcome: RevisionOutcome }>
      ): Effect.Effect<ReadonlyArray<AnnotationRecord>> => {
        const latest = new Map(
          revisions.map((revision) => [`${revision.desired.betId} ${revision.desired.kind}`, revision])
        )
        if (latest.size === 0) return Effect.succeed([])
        const values = JSON.stringify([...latest.values()].map(({ desired, outcome }) => ({
          betId: desired.betId,
          kind: desired.kind,
          workspaceId: desired.workspaceId,
          status: outcome.status,
          label: desired.label,
          at: desired.at.toISOString(),
          reason: outcome.status === "skipped" ? outcome.reason : null,
          projectFingerprint: desired.projectFingerprint,
          retryable: outcome.status === "skipped" && outcome.retryable === true
        })))
        return rows(
          "upsert",
          sql`
            INSERT INTO annotation_records (
              bet_id, kind, workspace_id, status, label, annotation_at, revision, reason, search_from, search_to,
              project_fingerprint, retryable)
            SELECT v."betId", v.kind, v."workspaceId", v.status, v.label, v.at, 1, v.reason, v.at, v.at,
              v."projectFingerprint", v.retryable
            FROM jsonb_to_recordset(${values}::jsonb) AS v(
              "betId" uuid, kind text, "workspaceId" uuid, status text, label text, at timestamptz, reason text,
              "projectFingerprint" text, retryable boolean)
            ON CONFLICT (bet_id, kind) DO UPDATE SET
              status = EXCLUDED.status,
              label = EXCLUDED.label,
              annotation_at = EXCLUDED.annotation_at,
              revision = annotation_records.revision + 1,
              reason = EXCLUDED.reason,
              search_from = least(annotation_records.search_from, EXCLUDED.annotation_at),
              search_to = greatest(annotation_records.search_to, EXCLUDED.annotation_at),
              execution_id = NULL,
              attempts = 0,
              project_fingerprint = EXCLUDED.project_fingerprint,
              attempt_keys_at = NULL,
              retryable = EXCLUDED.retryable,
              updated_at = now()
            RETURNING ${select}`
        )
      }

      /** `upsertAll` of one annotation: the record with its new revision. */
      const upsert = (desired: DesiredAnnotation, outcome: RevisionOutcome): Effect.Effect<AnnotationRecord> =>
        Effect.map(upsertAll([{ desired, outcome }]), (records) => records[0]!)

      /** Stores the workflow execution that pushes each revision (a revision replaced meanwhile is left alone). */
      const setExecutions = (
        executions: ReadonlyArray<RecordKey & { readonly revision: number; readonly executionId: string }>
      ): Effect.Effect<void> =>
        executions.length === 0 ? Effect.void : sql`
          UPDATE annotation_records r SET execution_id = e."executionId"
          FROM jsonb_to_recordset(${JSON.stringify(executions)}::jsonb)
            AS e("betId" uuid, kind text, revision integer, "executionId" text)
          WHERE r.bet_id = e."betId" AND r.kind = e.kind AND r.revision = e.revision`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.setExecutions")
        )

      const find = (key: RecordKey): Effect.Effect<Option.Option<AnnotationRecord>> =>
        one("find", sql`SELECT ${select} FROM annotation_records WHERE bet_id = ${key.betId} AND kind = ${key.kind}`)

      const forBet = (betId: BetId): Effect.Effect<ReadonlyArray<AnnotationRecord>> =>
        rows(
          "forBet",
          sql`
            SELECT ${select} FROM annotation_records WHERE bet_id = ${betId}
            ORDER BY CASE kind WHEN 'promoted' THEN 1 WHEN 'shipped' THEN 2 ELSE 3 END`
        )

      /** Newest change first. */
      const forWorkspace = (workspaceId: WorkspaceId, limit: number): Effect.Effect<ReadonlyArray<AnnotationRecord>> =>
        rows(
          "forWorkspace",
          sql`
            SELECT ${select} FROM annotation_records WHERE workspace_id = ${workspaceId}
            ORDER BY updated_at DESC, bet_id, kind LIMIT ${limit}`
        )

      /** An attempt of `revision` starts, aimed at the project `target` names with the keys validated at `keysAt`. */
      const countAttempt = (
        key: RecordKey,
        revision: number,
        target: { readonly projectFingerprint: string | null; readonly keysAt: Date | null }
      ): Effect.Effect<void> =>
        sql`
          UPDATE annotation_records SET
            attempts = attempts + 1,
            project_fingerprint = ${target.projectFingerprint},
            attempt_keys_at = ${target.keysAt}
          WHERE bet_id = ${key.betId} AND kind = ${key.kind} AND revision = ${revision}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.countAttempt")
        )

      /**
       * The annotation of `revision` is in Amplitude as `amplitudeAnnotationId`. The status turns `pushed` only
       * when no newer revision was recorded meanwhile (that one is on its way).
       */
      const markPushed = (key: RecordKey, revision: number, amplitudeAnnotationId: number): Effect.Effect<void> =>
        sql`
          UPDATE annotation_records SET
            amplitude_annotation_id = ${amplitudeAnnotationId},
            pushed_revision = greatest(coalesce(pushed_revision, 0), ${revision}),
            last_pushed_at = now(),
            status = CASE WHEN revision <= ${revision} THEN 'pushed' ELSE status END,
            reason = CASE WHEN revision <= ${revision} THEN NULL ELSE reason END,
            updated_at = now()
          WHERE bet_id = ${key.betId} AND kind = ${key.kind}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.markPushed")
        )

      /**
       * Ends `revision` as `skipped` or `failed`, unless a newer revision took over. `retryable`: fresh keys or a
       * reconnect to the project the revision was aimed at may fix it (see `retryable`).
       */
      const markEnded = (
        key: RecordKey,
        revision: number,
        status: "skipped" | "failed",
        reason: string,
        retryable = false
      ): Effect.Effect<void> =>
        sql`
          UPDATE annotation_records SET status = ${status}, reason = ${reason}, retryable = ${retryable},
            updated_at = now()
          WHERE bet_id = ${key.betId} AND kind = ${key.kind} AND revision = ${revision}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.markEnded")
        )

      /**
       * Ends `revision` as `failed`, unless a newer revision took over or keys for the same project were saved
       * since its latest attempt started (that attempt may have used the old keys): then `false`, try again.
       * The integration row is share-locked first: a re-key saved meanwhile either commits before (and is seen
       * here) or waits for this statement, and then finds the record `failed` when it re-drives.
       */
      const markFailed = (
        key: RecordKey,
        revision: number,
        reason: string,
        retryable: boolean
      ): Effect.Effect<boolean> =>
        sql`
          WITH keys AS (
            SELECT i.last_validated_at, i.project_fingerprint FROM integrations i
            JOIN annotation_records r ON r.workspace_id = i.workspace_id
            WHERE r.bet_id = ${key.betId} AND r.kind = ${key.kind} AND i.provider = ${AMPLITUDE}
              AND i.status = 'connected'
            FOR SHARE OF i
          )
          UPDATE annotation_records SET status = 'failed', reason = ${reason}, retryable = ${retryable},
            updated_at = now()
          WHERE bet_id = ${key.betId} AND kind = ${key.kind} AND revision = ${revision}
            AND NOT EXISTS (
              SELECT 1 FROM keys
              WHERE keys.project_fingerprint = annotation_records.project_fingerprint
                AND date_trunc('milliseconds', keys.last_validated_at) IS DISTINCT FROM annotation_records.attempt_keys_at
            )
          RETURNING revision`.pipe(
          Effect.map((rows) => rows.length === 1),
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.markFailed")
        )

      /**
       * The retryable records of the workspace (or of one bet) aimed at `projectFingerprint`, locked until the
       * caller's transaction ends: a concurrent re-drive waits, then no longer finds them (they are pending).
       */
      const lockRetryable = (
        workspaceId: WorkspaceId,
        projectFingerprint: string,
        betId?: BetId
      ): Effect.Effect<ReadonlyArray<AnnotationRecord>> =>
        rows(
          "lockRetryable",
          sql`
            SELECT ${select} FROM annotation_records
            WHERE workspace_id = ${workspaceId} AND retryable AND status IN ('failed', 'skipped')
              AND project_fingerprint = ${projectFingerprint}
              ${betId === undefined ? sql`` : sql`AND bet_id = ${betId}`}
            ORDER BY bet_id, kind
            FOR UPDATE`
        )

      /** Forgets an Amplitude id that no longer exists there. */
      const forgetAmplitudeId = (key: RecordKey, amplitudeAnnotationId: number): Effect.Effect<void> =>
        sql`
          UPDATE annotation_records SET amplitude_annotation_id = NULL
          WHERE bet_id = ${key.betId} AND kind = ${key.kind}
            AND amplitude_annotation_id = ${amplitudeAnnotationId}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.forgetAmplitudeId")
        )

      /** Push health on the workspace's connected Amplitude integration (settings key `annotationPush`). */
      const setPushHealth = (workspaceId: WorkspaceId, health: AnnotationPushSettings): Effect.Effect<void> =>
        sql`
          UPDATE integrations SET settings = jsonb_set(settings, '{annotationPush}', ${JSON.stringify(health)}::jsonb)
          WHERE workspace_id = ${workspaceId} AND provider = ${AMPLITUDE} AND status = 'connected'`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.setPushHealth")
        )

      /** Remembers the category of the project `projectFingerprint` names, if the workspace still points at it. */
      const setCategoryId = (
        workspaceId: WorkspaceId,
        projectFingerprint: string | null,
        categoryId: number
      ): Effect.Effect<void> =>
        sql`
          UPDATE integrations SET settings = jsonb_set(settings, '{annotationCategoryId}', ${
          JSON.stringify(categoryId)
        }::jsonb)
          WHERE workspace_id = ${workspaceId} AND provider = ${AMPLITUDE} AND status = 'connected'
            AND project_fingerprint IS NOT DISTINCT FROM ${projectFingerprint}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AnnotationRecordsRepo.setCategoryId")
        )

      return {
        upsertAll,
        upsert,
        setExecutions,
        find,
        forBet,
        forWorkspace,
        countAttempt,
        markPushed,
        markEnded,
        markFailed,
        lockRetryable,
        forgetAmplitudeId,
        setPushHealth,
        setCategoryId
      } as const
    })
  }
) {}
