import { SqlClient } from "@effect/sql"
import type { WorkspaceId } from "@findry/domain"
import { AnnotationKind, AnnotationStatus } from "@findry/domain"
import { Effect, Schema } from "effect"

/** Milliseconds between the Unix epoch and the cluster's snowflake epoch (2025-01-01T00:00:00Z). */
const SNOWFLAKE_EPOCH = 1735689600000

/** Cluster entity types whose messages are the annotation push (the workflow and the per-project entity). */
const PUSH_ENTITY_TYPES = ["Workflow/PushAnnotation", "AmplitudeProject"] as const

/** Annotation records waiting to be pushed, and the push messages the runners have not consumed yet. */
export class AnnotationBacklog extends Schema.Class<AnnotationBacklog>("AnnotationBacklog")({
  /** Records whose latest revision is not in Amplitude yet. */
  pending: Schema.Number,
  /** Records whose push gave up. */
  failed: Schema.Number,
  /** Push messages due now (their delivery time has come) and not processed by a runner. */
  due: Schema.Number,
  /** How long the oldest due message has been due, in seconds; null when none is due. */
  oldestDueSeconds: Schema.NullOr(Schema.Number)
}) {}

/** A row of the cluster's runner table. */
export class RunnerRow extends Schema.Class<RunnerRow>("RunnerRow")({
  address: Schema.String,
  healthy: Schema.Boolean,
  /** Seconds since the runner's last heartbeat. */
  heartbeatAgeSeconds: Schema.Number,
  /** Healthy, with a heartbeat recent enough that the cluster still counts it. */
  alive: Schema.Boolean
}) {}

export class SweepFailure extends Schema.Class<SweepFailure>("SweepFailure")({
  betId: Schema.String,
  workspaceId: Schema.String,
  warning: Schema.NullOr(Schema.String)
}) {}

/** The last outcome sweep, as its measurement runs (trigger `sweep`) record it. */
export class LastSweep extends Schema.Class<LastSweep>("LastSweep")({
  /** Time of the sweep's latest run. */
  at: Schema.DateFromSelf,
  /** Runs the sweep recorded (in the hour of its latest run). */
  measured: Schema.Number,
  /** Runs that decided a verdict. */
  verdicts: Schema.Number,
  /** Runs without any value: the bet could not be measured (reason in `failures`); the next sweep tries again. */
  notMeasured: Schema.Number,
  failures: Schema.Array(SweepFailure)
}) {}

export class SyncFailure extends Schema.Class<SyncFailure>("SyncFailure")({
  workspaceId: Schema.String,
  reason: Schema.NullOr(Schema.String),
  message: Schema.NullOr(Schema.String)
}) {}

/** The last night of the experiment sync, as `experiment_sync_runs` records it. */
export class LastSync extends Schema.Class<LastSync>("LastSync")({
  date: Schema.String,
  workspaces: Schema.Number,
  running: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  skipped: Schema.Number,
  failures: Schema.Array(SyncFailure)
}) {}

/** One annotation record as an operator lists it. */
export class AnnotationListing extends Schema.Class<AnnotationListing>("AnnotationListing")({
  betId: Schema.String,
  kind: AnnotationKind,
  status: AnnotationStatus,
  label: Schema.String,
  attempts: Schema.Number,
  reason: Schema.NullOr(Schema.String),
  amplitudeAnnotationId: Schema.NullOr(Schema.Number),
  lastPushedAt: Schema.NullOr(Schema.DateFromSelf),
  updatedAt: Schema.DateFromSelf
}) {}

/** Most failures listed per job; the counts cover all of them. */
const FAILURES_SHOWN = 20

/**
 * Read-only views of the scheduler's jobs for operators: the annotation push backlog, the cluster's runners,
 * the last outcome sweep and the last night of the experiment sync, and a workspace's annotation records.
 * The cluster tables exist only once a scheduler node has started; until then they read as empty.
 */
export class OperatorStatus extends Effect.Service<OperatorStatus>()("@findry/persistence/OperatorStatus", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const tableExists = (name: string) =>
      Effect.map(
        sql<{ present: boolean }>`SELECT to_regclass(${name}) IS NOT NULL AS present`,
        (rows) => rows[0]?.present === true
      )

    const annotationBacklog = Effect.gen(function*() {
      const records = yield* sql<{ pending: number; failed: number }>`
        SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
               count(*) FILTER (WHERE status = 'failed')::int AS failed
        FROM annotation_records`
      let due = 0
      let oldestDueSeconds: number | null = null
      if (yield* tableExists("cluster_messages")) {
        const messages = yield* sql<{ due: number; oldestDueSeconds: number | null }>`
          SELECT count(*)::int AS due,
                 (extract(epoch FROM now()) * 1000 - min(greatest((id >> 22) + ${SNOWFLAKE_EPOCH}, coalesce(deliver_at, 0))))
                   ::float8 / 1000 AS oldest_due_seconds
          FROM cluster_messages
          WHERE NOT processed AND ${sql.in("entity_type", PUSH_ENTITY_TYPES)}
            AND coalesce(deliver_at, 0) <= extract(epoch FROM now()) * 1000`
        due = messages[0]?.due ?? 0
        oldestDueSeconds = messages[0]?.oldestDueSeconds ?? null
      }
      return new AnnotationBacklog({
        pending: records[0]?.pending ?? 0,
        failed: records[0]?.failed ?? 0,
        due,
        oldestDueSeconds: oldestDueSeconds === null ? null : Math.max(0, Math.round(oldestDueSeconds))
      })
    }).pipe(Effect.orDie, Effect.withSpan("OperatorStatus.annotationBacklog"))

    /** `aliveWithinSeconds`: the cluster's shard lock expiration, past which it stops counting a runner. */
    const runners = Effect.fn("OperatorStatus.runners")(function*(aliveWithinSeconds: number) {
      if (!(yield* tableExists("cluster_runners"))) return []
      const rows = yield* sql`
        SELECT address, healthy,
               extract(epoch FROM (now()::timestamp - last_heartbeat))::float8 AS heartbeat_age_seconds,
               healthy AND last_heartbeat > now()::timestamp - make_interval(secs => ${aliveWithinSeconds}) AS alive
        FROM cluster_runners ORDER BY address`
      return yield* Schema.decodeUnknown(Schema.Array(RunnerRow))(
        rows.map((row) => ({ ...row, heartbeatAgeSeconds: Math.max(0, Number(row["heartbeatAgeSeconds"])) }))
      )
    }, Effect.orDie)

    const lastSweep = Effect.gen(function*() {
      const rows = yield* sql<{
        at: Date | null
        measured: number
        verdicts: number
        notMeasured: number
      }>`
        WITH last AS (SELECT max(measured_at) AS at FROM outcome_runs WHERE trigger = 'sweep')
        SELECT last.at,
               count(r.id)::int AS measured,
               count(r.verdict)::int AS verdicts,
               count(r.id) FILTER (WHERE r.baseline IS NULL AND r.observed IS NULL)::int AS not_measured
        FROM last LEFT JOIN outcome_runs r
          ON r.trigger = 'sweep' AND r.measured_at >= date_trunc('hour', last.at)
        GROUP BY last.at`
      const summary = rows[0]
      if (summary === undefined || summary.at === null) return null
      const failures = yield* sql`
        SELECT bet_id, workspace_id::text AS workspace_id, warnings ->> 0 AS warning FROM outcome_runs
        WHERE trigger = 'sweep' AND measured_at >= date_trunc('hour', ${summary.at}::timestamptz)
          AND baseline IS NULL AND observed IS NULL
        ORDER BY measured_at, bet_id LIMIT ${FAILURES_SHOWN}`
      return new LastSweep({
        at: summary.at,
        measured: summary.measured,
        verdicts: summary.verdicts,
        notMeasured: summary.notMeasured,
        failures: yield* Schema.decodeUnknown(Schema.Array(SweepFailure))(failures)
      })
    }).pipe(Effect.orDie, Effect.withSpan("OperatorStatus.lastSweep"))

    const lastSync = Effect.gen(function*() {
      const rows = yield* sql<{
        date: string | null
        workspaces: number
        running: number
        succeeded: number
        failed: number
        skipped: number
      }>`
        SELECT sync_date::text AS date, count(*)::int AS workspaces,
               count(*) FILTER (WHERE status = 'running')::int AS running,
               count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
               count(*) FILTER (WHERE status = 'failed')::int AS failed,
               count(*) FILTER (WHERE status = 'skipped')::int AS skipped
        FROM experiment_sync_runs
        WHERE sync_date = (SELECT max(sync_date) FROM experiment_sync_runs)
        GROUP BY sync_date`
      const summary = rows[0]
      if (summary === undefined || summary.date === null) return null
      const failures = yield* sql`
        SELECT workspace_id::text AS workspace_id, reason, message FROM experiment_sync_runs
        WHERE sync_date = ${summary.date}::date AND status = 'failed'
        ORDER BY workspace_id LIMIT ${FAILURES_SHOWN}`
      return new LastSync({
        ...summary,
        date: summary.date,
        failures: yield* Schema.decodeUnknown(Schema.Array(SyncFailure))(failures)
      })
    }).pipe(Effect.orDie, Effect.withSpan("OperatorStatus.lastSync"))

    const workspaceExists = (workspaceId: WorkspaceId) =>
      Effect.map(sql`SELECT 1 FROM workspaces WHERE id = ${workspaceId}`, (rows) => rows.length > 0).pipe(
        Effect.orDie,
        Effect.withSpan("OperatorStatus.workspaceExists")
      )

    /** The workspace's annotation records, newest change first. */
    const annotations = (
      workspaceId: WorkspaceId,
      options: { readonly status?: AnnotationStatus | undefined; readonly limit: number }
    ) =>
      sql`
        SELECT bet_id, kind, status, label, attempts, reason,
               amplitude_annotation_id::float8 AS amplitude_annotation_id, last_pushed_at, updated_at
        FROM annotation_records
        WHERE workspace_id = ${workspaceId}
          ${options.status === undefined ? sql`` : sql`AND status = ${options.status}`}
        ORDER BY updated_at DESC, bet_id, kind LIMIT ${options.limit}`.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(AnnotationListing))),
        Effect.orDie,
        Effect.withSpan("OperatorStatus.annotations")
      )

    return { annotationBacklog, runners, lastSweep, lastSync, workspaceExists, annotations } as const
  })
}) {}
