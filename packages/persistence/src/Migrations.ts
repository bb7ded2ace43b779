import { Migrator, SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import Workspaces from "./migrations/0001_workspaces.js"
import IntegrationsAndAudit from "./migrations/0002_integrations_and_audit.js"
import BetsAndAnnotations from "./migrations/0003_bets_and_annotations.js"
import AnnotationPush from "./migrations/0004_annotation_push.js"
import MetricMappingsAndOutcomeRuns from "./migrations/0005_metric_mappings_and_outcome_runs.js"
import TestsAndExperimentSync from "./migrations/0006_tests_and_experiment_sync.js"
import WorkspaceChangeNotifications from "./migrations/0007_workspace_change_notifications.js"
import RateLimitsAndPickerCache from "./migrations/0008_rate_limits_and_picker_cache.js"
import AnnotationRedrive from "./migrations/0009_annotation_redrive.js"
import AmplitudeGovernor from "./migrations/0010_amplitude_governor.js"
import ProjectCreationOrder from "./migrations/0011_project_creation_order.js"

export const migrations = {
  "0001_workspaces": Workspaces,
  "0002_integrations_and_audit": IntegrationsAndAudit,
  "0003_bets_and_annotations": BetsAndAnnotations,
  "0004_annotation_push": AnnotationPush,
  "0005_metric_mappings_and_outcome_runs": MetricMappingsAndOutcomeRuns,
  "0006_tests_and_experiment_sync": TestsAndExperimentSync,
  "0007_workspace_change_notifications": WorkspaceChangeNotifications,
  "0008_rate_limits_and_picker_cache": RateLimitsAndPickerCache,
  "0009_annotation_redrive": AnnotationRedrive,
  "0010_amplitude_governor": AmplitudeGovernor,
  "0011_project_creation_order": ProjectCreationOrder
} as const

export const latestMigrationId = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))

const MIGRATION_LOCK_KEY = 7_316_204_551

const runMigrator = Migrator.make({})({ loader: Migrator.fromRecord(migrations) })

/**
 * Applies pending migrations. Every process runs this at start; a transaction-scoped advisory lock serialises
 * concurrent starters. The migrations table is created here, under the lock, because the migrator's own
 * check-then-create would abort this transaction.
 */
export const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const applied = yield* sql.withTransaction(
    Effect.gen(function*() {
      // Another replica may hold the lock while it migrates: wait for it, however long the pool's limits are.
      yield* sql`SET LOCAL statement_timeout = 0`
      yield* sql`SET LOCAL lock_timeout = 0`
      yield* sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`
      yield* sql`
        CREATE TABLE IF NOT EXISTS effect_sql_migrations (
          migration_id integer PRIMARY KEY,
          created_at timestamptz NOT NULL DEFAULT now(),
          name text NOT NULL
        )`
      return yield* runMigrator
    })
  )
  if (applied.length > 0) {
    yield* Effect.logInfo("Database migrations applied").pipe(
      Effect.annotateLogs("migrations", applied.map(([id, name]) => `${id}_${name}`).join(", "))
    )
  }
  return applied
}).pipe(Effect.withSpan("Migrations.migrate"))

export const MigrationsLive = Layer.effectDiscard(migrate)
