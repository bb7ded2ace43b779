import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE tests (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name text NOT NULL,
      type text NOT NULL CHECK (type IN ('ab_experiment', 'other')),
      amplitude_experiment_id text,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (amplitude_experiment_id IS NULL OR type = 'ab_experiment')
    )`
  yield* sql`CREATE INDEX tests_workspace_idx ON tests (workspace_id, created_at)`
  yield* sql`CREATE INDEX tests_linked_idx ON tests (workspace_id) WHERE amplitude_experiment_id IS NOT NULL`
  // The last state of the linked Amplitude experiment as Findry saw it; one per test, replaced on re-link.
  yield* sql`
    CREATE TABLE experiment_snapshots (
      test_id uuid PRIMARY KEY REFERENCES tests(id) ON DELETE CASCADE,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      experiment_id text NOT NULL,
      key text NOT NULL,
      name text NOT NULL,
      state text,
      decision text,
      start_date text,
      end_date text,
      variants jsonb NOT NULL DEFAULT '[]'::jsonb,
      archived boolean NOT NULL DEFAULT false,
      deleted boolean NOT NULL DEFAULT false,
      synced_at timestamptz NOT NULL,
      sync_status text NOT NULL CHECK (sync_status IN ('synced', 'failed')),
      sync_error text,
      last_attempt_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX experiment_snapshots_workspace_idx ON experiment_snapshots (workspace_id)`
  // One row per (workspace, night): the per-workspace outcome of the nightly experiment sync.
  yield* sql`
    CREATE TABLE experiment_sync_runs (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      sync_date date NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
      attempts integer NOT NULL DEFAULT 1,
      tests_total integer NOT NULL DEFAULT 0,
      tests_synced integer NOT NULL DEFAULT 0,
      experiments_archived integer NOT NULL DEFAULT 0,
      experiments_deleted integer NOT NULL DEFAULT 0,
      requests integer NOT NULL DEFAULT 0,
      reason text,
      message text,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      PRIMARY KEY (workspace_id, sync_date)
    )`
  yield* sql`CREATE INDEX experiment_sync_runs_date_idx ON experiment_sync_runs (sync_date, status)`
})
