import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE metrics (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      name text NOT NULL,
      unit text NOT NULL CHECK (unit IN ('percent', 'decimal', 'integer', 'currency')),
      description text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE UNIQUE INDEX metrics_workspace_name_idx ON metrics (workspace_id, lower(name))`
  yield* sql`
    CREATE TABLE bets (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      title text NOT NULL,
      status text NOT NULL CHECK (status IN ('promoted', 'shipped')),
      metric_id uuid NOT NULL REFERENCES metrics(id),
      direction text NOT NULL CHECK (direction IN ('increase', 'decrease')),
      magnitude double precision NOT NULL,
      magnitude_unit text NOT NULL CHECK (magnitude_unit IN ('percent', 'absolute')),
      timeframe_days integer NOT NULL CHECK (timeframe_days > 0),
      cohort_id text,
      promoted_at timestamptz NOT NULL,
      shipped_at timestamptz,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX bets_workspace_idx ON bets (workspace_id)`
  yield* sql`CREATE INDEX bets_metric_idx ON bets (metric_id)`
  yield* sql`
    CREATE TABLE outcomes (
      bet_id uuid PRIMARY KEY REFERENCES bets(id) ON DELETE CASCADE,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      ship_date date NOT NULL,
      what_shipped text NOT NULL,
      verdict text CHECK (verdict IN ('hit', 'miss', 'inconclusive')),
      verdict_source text CHECK (verdict_source IN ('sweep', 'override')),
      verdict_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE annotation_records (
      bet_id uuid NOT NULL REFERENCES bets(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('promoted', 'shipped', 'verdict')),
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      status text NOT NULL CHECK (status IN ('pending', 'pushed', 'skipped', 'failed')),
      amplitude_annotation_id bigint,
      label text NOT NULL,
      annotation_at timestamptz NOT NULL,
      revision integer NOT NULL DEFAULT 1,
      pushed_revision integer,
      last_pushed_at timestamptz,
      reason text,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (bet_id, kind)
    )`
  yield* sql`CREATE INDEX annotation_records_workspace_idx ON annotation_records (workspace_id, status)`
})
