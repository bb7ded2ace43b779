import { SqlClient, SqlError } from "@effect/sql"
import type { Mapping } from "@findry/domain"
import {
  MappingParams,
  MetricId,
  MetricMappingId,
  MetricUnit,
  type MetricUnit as Unit,
  WorkspaceId
} from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"

export class MetricRow extends Schema.Class<MetricRow>("MetricRow")({
  id: MetricId,
  workspaceId: WorkspaceId,
  name: Schema.String,
  unit: MetricUnit,
  description: Schema.NullOr(Schema.String)
}) {}

const MappingRow = Schema.Struct({
  id: MetricMappingId,
  workspaceId: WorkspaceId,
  metricId: MetricId,
  kind: Schema.String,
  params: Schema.Unknown,
  needsReview: Schema.Boolean,
  updatedAt: Schema.DateFromSelf
})
type MappingRow = typeof MappingRow.Type

/** A stored mapping: the contract's `Mapping`, plus the workspace it belongs to. */
export interface MappingRecord {
  readonly workspaceId: WorkspaceId
  readonly mapping: Mapping
}

const decodeParams = Schema.decodeUnknown(MappingParams)
const decodeMappingRow = Schema.decodeUnknown(MappingRow)
const decodeMetricRow = Schema.decodeUnknown(MetricRow)

const toRecord = (row: unknown) =>
  Effect.gen(function*() {
    const decoded: MappingRow = yield* decodeMappingRow(row)
    const params = yield* decodeParams({ ...(decoded.params as object), kind: decoded.kind })
    const mapping: Mapping = {
      ...params,
      id: decoded.id,
      metricId: decoded.metricId,
      needsReview: decoded.needsReview,
      updatedAt: decoded.updatedAt
    }
    return { workspaceId: decoded.workspaceId, mapping } satisfies MappingRecord
  })

const isUniqueViolation = (error: SqlError.SqlError) =>
  typeof error.cause === "object" && error.cause !== null && (error.cause as { code?: unknown }).code === "23505"

export type MetricChange =
  | { readonly _tag: "Changed"; readonly metric: MetricRow }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "NameTaken" }

const MAPPING_COLUMNS = "id, workspace_id, metric_id, kind, params, needs_review, updated_at"

/** The metric library and each metric's mapping per provider (one active mapping per metric and provider). */
export class MetricsRepo extends Effect.Service<MetricsRepo>()("@findry/persistence/MetricsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const mappingColumns = sql.unsafe(MAPPING_COLUMNS)

    /** `None` when the name is taken in the workspace (case-insensitive). */
    const create = Effect.fn("MetricsRepo.create")(function*(
      workspaceId: WorkspaceId,
      input: { readonly name: string; readonly unit: Unit; readonly description: string | null }
    ) {
      const rows = yield* sql`
        INSERT INTO metrics (id, workspace_id, name, unit, description)
        VALUES (${randomUUID()}, ${workspaceId}, ${input.name}, ${input.unit}, ${input.description})
        ON CONFLICT (workspace_id, lower(name)) DO NOTHING
        RETURNING id, workspace_id, name, unit, description`
      return rows.length === 0 ? Option.none<MetricRow>() : Option.some(yield* decodeMetricRow(rows[0]))
    }, Effect.orDie)

    const find = Effect.fn("MetricsRepo.find")(function*(workspaceId: WorkspaceId, metricId: MetricId) {
      const rows = yield* sql`
        SELECT id, workspace_id, name, unit, description FROM metrics
        WHERE id = ${metricId} AND workspace_id = ${workspaceId}`
      return rows.length === 0 ? Option.none<MetricRow>() : Option.some(yield* decodeMetricRow(rows[0]))
    }, Effect.orDie)

    const list = Effect.fn("MetricsRepo.list")(function*(workspaceId: WorkspaceId, provider: string) {
      const metrics = yield* sql`
        SELECT id, workspace_id, name, unit, description FROM metrics
        WHERE workspace_id = ${workspaceId} ORDER BY lower(name), id`
      const mappings = yield* sql`
        SELECT ${mappingColumns} FROM metric_mappings WHERE workspace_id = ${workspaceId} AND provider = ${provider}`
      const byMetric = new Map<string, Mapping>()
      for (const row of mappings) {
        const record = yield* toRecord(row)
        byMetric.set(record.mapping.metricId, record.mapping)
      }
      return yield* Effect.forEach(
        metrics,
        (row) => Effect.map(decodeMetricRow(row), (metric) => ({ metric, mapping: byMetric.get(metric.id) ?? null }))
      )
    }, Effect.orDie)

    const update = (
      workspaceId: WorkspaceId,
      metricId: MetricId,
      patch: { readonly name?: string; readonly unit?: Unit; readonly description?: string | null }
    ): Effect.Effect<MetricChange> =>
      sql`
        UPDATE metrics SET
          name = ${patch.name === undefined ? sql`name` : sql`${patch.name}`},
          unit = ${patch.unit === undefined ? sql`unit` : sql`${patch.unit}`},
          description = ${patch.description === undefined ? sql`description` : sql`${patch.description}`},
          updated_at = now()
        WHERE id = ${metricId} AND workspace_id = ${workspaceId}
        RETURNING id, workspace_id, name, unit, description`.pipe(
        Effect.flatMap((rows): Effect.Effect<MetricChange, unknown> =>
          rows.length === 0
            ? Effect.succeed({ _tag: "NotFound" })
            : Effect.map(decodeMetricRow(rows[0]), (metric) => ({ _tag: "Changed", metric }))
        ),
        Effect.catchIf(
          (error): error is SqlError.SqlError => error instanceof SqlError.SqlError && isUniqueViolation(error),
          () => Effect.succeed<MetricChange>({ _tag: "NameTaken" })
        ),
        Effect.orDie,
        Effect.withSpan("MetricsRepo.update")
      )

    const findMapping = Effect.fn("MetricsRepo.findMapping")(
      function*(workspaceId: WorkspaceId, metricId: MetricId, provider: string) {
        const rows = yield* sql`
          SELECT ${mappingColumns} FROM metric_mappings
          WHERE metric_id = ${metricId} AND workspace_id = ${workspaceId} AND provider = ${provider}`
        return rows.length === 0 ? Option.none<Mapping>() : Option.some((yield* toRecord(rows[0])).mapping)
      },
      Effect.orDie
    )

    /** Creates the metric's mapping or replaces its parameters in place (same id); saving clears `needsReview`. */
    const saveMapping = Effect.fn("MetricsRepo.saveMapping")(
      function*(workspaceId: WorkspaceId, metricId: MetricId, provider: string, params: MappingParams) {
        const { kind, ...rest } = params
        const rows = yield* sql`
          INSERT INTO metric_mappings (id, workspace_id, metric_id, provider, kind, params)
          VALUES (${randomUUID()}, ${workspaceId}, ${metricId}, ${provider}, ${kind}, ${JSON.stringify(rest)}::jsonb)
          ON CONFLICT (metric_id, provider) DO UPDATE SET
            kind = EXCLUDED.kind, params = EXCLUDED.params, needs_review = false, updated_at = now()
          RETURNING ${mappingColumns}`
        return (yield* toRecord(rows[0])).mapping
      },
      Effect.orDie
    )

    /** True when a mapping was deleted. */
    const deleteMapping = Effect.fn("MetricsRepo.deleteMapping")(
      function*(workspaceId: WorkspaceId, metricId: MetricId, provider: string) {
        const rows = yield* sql`
          DELETE FROM metric_mappings
          WHERE metric_id = ${metricId} AND workspace_id = ${workspaceId} AND provider = ${provider}
          RETURNING id`
        return rows.length > 0
      },
      Effect.orDie
    )

    /** Flags every mapping of the workspace for review (the integration now points at another project). */
    const flagForReview = Effect.fn("MetricsRepo.flagForReview")(
      function*(workspaceId: WorkspaceId, provider: string) {
        const rows = yield* sql`
          UPDATE metric_mappings SET needs_review = true, updated_at = now()
          WHERE workspace_id = ${workspaceId} AND provider = ${provider} AND NOT needs_review
          RETURNING id`
        return rows.length
      },
      Effect.orDie
    )

    return { create, find, list, update, findMapping, saveMapping, deleteMapping, flagForReview } as const
  })
}) {}

/** Decodes a stored mapping row (for repositories that join it). */
export const mappingFromRow = (row: unknown): Effect.Effect<MappingRecord> => Effect.orDie(toRecord(row))
