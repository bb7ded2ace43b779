import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // One row per admitted use of a limited action (`RateLimits`); rows past `expires_at` no longer count.
  yield* sql`
    CREATE TABLE rate_limit_hits (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key text NOT NULL,
      at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX rate_limit_hits_key_idx ON rate_limit_hits (key, at)`
  yield* sql`CREATE INDEX rate_limit_hits_expiry_idx ON rate_limit_hits (expires_at)`
  // The last answer of each Amplitude picker per workspace, valid only for the credentials it was read with.
  yield* sql`
    CREATE TABLE picker_answers (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      picker text NOT NULL,
      credentials_digest text NOT NULL,
      fetched_at timestamptz NOT NULL,
      answer jsonb NOT NULL,
      PRIMARY KEY (workspace_id, picker)
    )`
})
