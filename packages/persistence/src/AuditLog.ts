import { SqlClient, SqlSchema } from "@effect/sql"
import type { WorkspaceId } from "@findry/domain"
import { Effect, Schema } from "effect"
import { randomUUID } from "node:crypto"

export class AuditRow extends Schema.Class<AuditRow>("AuditRow")({
  seq: Schema.NumberFromString,
  id: Schema.String,
  at: Schema.DateFromSelf,
  actorId: Schema.String,
  action: Schema.String,
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}

export interface AuditRecord {
  readonly workspaceId: WorkspaceId
  readonly actorId: string
  readonly action: string
  readonly details?: Record<string, unknown>
}

/** Append-only record of who did what. Callers pass details that are already redacted. */
export class AuditLog extends Effect.Service<AuditLog>()("@findry/persistence/AuditLog", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const record = (entry: AuditRecord): Effect.Effect<void> =>
      sql`
        INSERT INTO audit_log (id, workspace_id, actor_id, action, details)
        VALUES (${randomUUID()}, ${entry.workspaceId}, ${entry.actorId}, ${entry.action},
                ${JSON.stringify(entry.details ?? {})}::jsonb)`.pipe(
        Effect.asVoid,
        Effect.orDie,
        Effect.withSpan("AuditLog.record", { attributes: { action: entry.action } })
      )

    const page = SqlSchema.findAll({
      Request: Schema.Struct({
        workspaceId: Schema.String,
        limit: Schema.Number,
        before: Schema.NullOr(Schema.String)
      }),
      Result: AuditRow,
      execute: ({ before, limit, workspaceId }) =>
        sql`
          SELECT seq::text AS seq, id, at, actor_id, action, details FROM audit_log
          WHERE workspace_id = ${workspaceId} ${before === null ? sql`` : sql`AND seq < ${before}`}
          ORDER BY audit_log.seq DESC LIMIT ${limit}`
    })

    /** Newest first; `cursor` is the `nextCursor` of the previous page. */
    const list = (workspaceId: WorkspaceId, options: { readonly limit: number; readonly cursor: string | null }) =>
      page({ workspaceId, limit: options.limit + 1, before: options.cursor }).pipe(
        Effect.map((rows) => ({
          entries: rows.slice(0, options.limit),
          nextCursor: rows.length > options.limit ? String(rows[options.limit - 1]!.seq) : null
        })),
        Effect.orDie,
        Effect.withSpan("AuditLog.list")
      )

    return { record, list } as const
  })
}) {}
