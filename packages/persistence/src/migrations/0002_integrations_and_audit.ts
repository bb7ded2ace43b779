import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE integrations (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      provider text NOT NULL,
      status text NOT NULL CHECK (status IN ('connected', 'disconnected')),
      region text,
      credential_1 bytea,
      credential_2 bytea,
      credential_3 bytea,
      credential_1_prefix text,
      credential_2_prefix text,
      credential_3_prefix text,
      project_fingerprint text,
      display_name text,
      settings jsonb NOT NULL DEFAULT '{}'::jsonb,
      connected_at timestamptz,
      disconnected_at timestamptz,
      last_validated_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (workspace_id, provider)
    )`
  yield* sql`CREATE INDEX integrations_provider_status_idx ON integrations (provider, status)`
  yield* sql`
    CREATE TABLE audit_log (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      actor_id text NOT NULL,
      action text NOT NULL,
      details jsonb NOT NULL DEFAULT '{}'::jsonb,
      at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX audit_log_workspace_seq_idx ON audit_log (workspace_id, seq DESC)`
  yield* sql`CREATE INDEX audit_log_workspace_action_at_idx ON audit_log (workspace_id, action, at)`
})
