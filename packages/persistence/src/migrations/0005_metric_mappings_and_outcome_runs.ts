import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE metric_mappings (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      metric_id uuid NOT NULL REFERENCES metrics(id) ON DELETE CASCADE,
      provider text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('event', 'chart', 'funnel', 'cohort_size', 'template')),
      params jsonb NOT NULL,
      needs_review boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (metric_id, provider)
    )`
  yield* sql`CREATE INDEX metric_mappings_workspace_idx ON metric_mappings (workspace_id, provider)`
  yield* sql`
    CREATE TABLE outcome_runs (
      id uuid PRIMARY KEY,
      bet_id uuid NOT NULL REFERENCES bets(id) ON DELETE CASCADE,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      mapping_id uuid REFERENCES metric_mappings(id) ON DELETE SET NULL,
      trigger text NOT NULL CHECK (trigger IN ('pull', 'sweep')),
      measured_at timestamptz NOT NULL,
      baseline_start date,
      baseline_end date,
      observed_start date,
      observed_end date,
      baseline double precision,
      observed double precision,
      variance_abs double precision,
      variance_pct double precision,
      sample double precision,
      verdict text CHECK (verdict IN ('hit', 'miss', 'inconclusive')),
      warnings jsonb NOT NULL DEFAULT '[]'::jsonb
    )`
  yield* sql`CREATE INDEX outcome_runs_bet_idx ON outcome_runs (bet_id, measured_at DESC)`
})
