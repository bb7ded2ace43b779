import { SqlClient, SqlSchema, type Statement } from "@effect/sql"
import { ProjectId, WorkspaceId } from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"

export const TestKind = Schema.Literal("ab_experiment", "other")
export type TestKind = typeof TestKind.Type

const SnapshotVariant = Schema.Struct({ key: Schema.String, name: Schema.optional(Schema.String) })

/** The linked Amplitude experiment as Findry last saw it. */
export class ExperimentSnapshotRow extends Schema.Class<ExperimentSnapshotRow>("ExperimentSnapshotRow")({
  experimentId: Schema.String,
  key: Schema.String,
  name: Schema.String,
  state: Schema.NullOr(Schema.String),
  decision: Schema.NullOr(Schema.String),
  startDate: Schema.NullOr(Schema.String),
  endDate: Schema.NullOr(Schema.String),
  variants: Schema.Array(SnapshotVariant),
  archived: Schema.Boolean,
  deleted: Schema.Boolean,
  syncedAt: Schema.DateFromSelf,
  syncStatus: Schema.Literal("synced", "failed"),
  syncError: Schema.NullOr(Schema.String),
  lastAttemptAt: Schema.DateFromSelf
}) {}

export class TestRow extends Schema.Class<TestRow>("TestRow")({
  id: Schema.String,
  workspaceId: WorkspaceId,
  projectId: ProjectId,
  name: Schema.String,
  type: TestKind,
  amplitudeExperimentId: Schema.NullOr(Schema.String),
  snapshot: Schema.NullOr(ExperimentSnapshotRow)
}) {}

/** What is stored about an experiment when a test is linked to it, or when the sync refreshes it. */
export interface ExperimentFields {
  readonly experimentId: string
  readonly key: string
  readonly name: string
  readonly state: string | null
  readonly decision: string | null
  readonly startDate: string | null
  readonly endDate: string | null
  readonly variants: ReadonlyArray<{ readonly key: string; readonly name?: string }>
  readonly archived: boolean
  readonly deleted: boolean
}

export interface NewTest {
  readonly workspaceId: WorkspaceId
  readonly projectId: ProjectId
  readonly name: string
  readonly type: TestKind
  readonly createdBy: string
  readonly experiment: ExperimentFields | null
}

const FlatRow = Schema.Struct({
  id: Schema.String,
  workspaceId: WorkspaceId,
  projectId: ProjectId,
  name: Schema.String,
  type: TestKind,
  amplitudeExperimentId: Schema.NullOr(Schema.String),
  snapshot: Schema.NullOr(Schema.parseJson(Schema.Struct({
    ...ExperimentSnapshotRow.fields,
    syncedAt: Schema.DateFromString,
    lastAttemptAt: Schema.DateFromString
  })))
})

const toTestRow = (row: typeof FlatRow.Type): TestRow =>
  new TestRow({ ...row, snapshot: row.snapshot === null ? null : new ExperimentSnapshotRow(row.snapshot) })

/** Tests and the snapshots of their linked Amplitude experiments. */
export class TestsRepo extends Effect.Service<TestsRepo>()("@findry/persistence/TestsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const select = (where: Statement.Statement<unknown>) =>
      sql`
        SELECT t.id, t.workspace_id, t.project_id, t.name, t.type, t.amplitude_experiment_id,
          CASE WHEN s.test_id IS NULL THEN NULL ELSE json_build_object(
            'experimentId', s.experiment_id, 'key', s.key, 'name', s.name, 'state', s.state,
            'decision', s.decision, 'startDate', s.start_date, 'endDate', s.end_date, 'variants', s.variants,
            'archived', s.archived, 'deleted', s.deleted,
            'syncedAt', to_char(s.synced_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'syncStatus', s.sync_status, 'syncError', s.sync_error,
            'lastAttemptAt', to_char(s.last_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
          )::text END AS snapshot
        FROM tests t LEFT JOIN experiment_snapshots s ON s.test_id = t.id AND s.experiment_id = t.amplitude_experiment_id
        WHERE ${where}`

    const findOne = SqlSchema.findOne({
      Request: Schema.Struct({ workspaceId: Schema.String, testId: Schema.String }),
      Result: FlatRow,
      execute: ({ testId, workspaceId }) => select(sql`t.id = ${testId} AND t.workspace_id = ${workspaceId}`)
    })

    const find = (workspaceId: WorkspaceId, testId: string): Effect.Effect<Option.Option<TestRow>> =>
      findOne({ workspaceId, testId }).pipe(
        Effect.map(Option.map(toTestRow)),
        Effect.orDie,
        Effect.withSpan("TestsRepo.find")
      )

    const listAll = SqlSchema.findAll({
      Request: Schema.Struct({ workspaceId: Schema.String, projectId: Schema.String }),
      Result: FlatRow,
      execute: ({ projectId, workspaceId }) =>
        sql`${select(sql`t.workspace_id = ${workspaceId} AND t.project_id = ${projectId}`)} ORDER BY t.created_at, t.id`
    })

    const list = (workspaceId: WorkspaceId, projectId: ProjectId): Effect.Effect<ReadonlyArray<TestRow>> =>
      listAll({ workspaceId, projectId }).pipe(
        Effect.map((rows) => rows.map(toTestRow)),
        Effect.orDie,
        Effect.withSpan("TestsRepo.list")
      )

    const writeSnapshot = (testId: string, workspaceId: WorkspaceId, experiment: ExperimentFields) =>
      sql`
        INSERT INTO experiment_snapshots (
          test_id, workspace_id, experiment_id, key, name, state, decision, start_date, end_date, variants,
          archived, deleted, synced_at, sync_status, sync_error, last_attempt_at)
        VALUES (
          ${testId}, ${workspaceId}, ${experiment.experimentId}, ${experiment.key}, ${experiment.name},
          ${experiment.state}, ${experiment.decision}, ${experiment.startDate}, ${experiment.endDate},
          ${JSON.stringify(experiment.variants)}::jsonb, ${experiment.archived}, ${experiment.deleted},
          now(), 'synced', NULL, now())
        ON CONFLICT (test_id) DO UPDATE SET
          experiment_id = EXCLUDED.experiment_id, key = EXCLUDED.key, name = EXCLUDED.name, state = EXCLUDED.state,
          decision = EXCLUDED.decision, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
          variants = EXCLUDED.variants, archived = EXCLUDED.archived, deleted = EXCLUDED.deleted,
          synced_at = EXCLUDED.synced_at, sync_status = 'synced', sync_error = NULL,
          last_attempt_at = EXCLUDED.last_attempt_at`

    /** `None` when the project is not one of the workspace's. */
    const create = (test: NewTest): Effect.Effect<Option.Option<TestRow>> =>
      sql.withTransaction(Effect.gen(function*() {
        const id = randomUUID()
        const inserted = yield* sql`
          INSERT INTO tests (id, workspace_id, project_id, name, type, amplitude_experiment_id, created_by)
          SELECT ${id}, p.workspace_id, p.id, ${test.name}, ${test.type}, ${test.experiment?.experimentId ?? null},
            ${test.createdBy}
          FROM projects p WHERE p.id = ${test.projectId} AND p.workspace_id = ${test.workspaceId}
          RETURNING id`
        if (inserted.length === 0) return Option.none<TestRow>()
        if (test.experiment !== null) yield* writeSnapshot(id, test.workspaceId, test.experiment)
        return yield* find(test.workspaceId, id)
      })).pipe(Effect.orDie, Effect.withSpan("TestsRepo.create"))

    /** Links (or re-links) a test; `None` when the test is not the workspace's. */
    const link = (
      workspaceId: WorkspaceId,
      testId: string,
      experiment: ExperimentFields
    ): Effect.Effect<Option.Option<TestRow>> =>
      sql.withTransaction(Effect.gen(function*() {
        const updated = yield* sql`
          UPDATE tests SET amplitude_experiment_id = ${experiment.experimentId}, updated_at = now()
          WHERE id = ${testId} AND workspace_id = ${workspaceId} AND type = 'ab_experiment'
          RETURNING id`
        if (updated.length === 0) return Option.none<TestRow>()
        yield* writeSnapshot(testId, workspaceId, experiment)
        return yield* find(workspaceId, testId)
      })).pipe(Effect.orDie, Effect.withSpan("TestsRepo.link"))

    return { find, list, create, link } as const
  })
}) {}
