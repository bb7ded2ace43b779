import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * What a re-drive of failed annotation pushes needs on `annotation_records`:
 * - `project_fingerprint`: the Amplitude project the latest revision was aimed at (the workspace's project when
 *   it was recorded, then the one each attempt started with); NULL when the workspace had never been connected;
 * - `attempt_keys_at`: `integrations.last_validated_at` of the keys the latest attempt started with, so that a
 *   push failing while an admin saves new keys tries again instead of ending `failed`;
 * - `retryable`: the revision ended in a state fresh keys or a reconnect to that project may fix (keys rejected
 *   or unreadable, attempts used up, skipped because the workspace was disconnected).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    ALTER TABLE annotation_records
      ADD COLUMN project_fingerprint text,
      ADD COLUMN attempt_keys_at timestamptz,
      ADD COLUMN retryable boolean NOT NULL DEFAULT false`
  // Pushes that failed before this migration (keys rejected, attempts used up) become retryable when the workspace
  // still points at the project they failed on: no key save since the failure named another (or an unknown) one.
  yield* sql`
    UPDATE annotation_records r SET retryable = true, project_fingerprint = i.project_fingerprint
    FROM integrations i
    WHERE i.workspace_id = r.workspace_id AND i.provider = 'amplitude' AND i.project_fingerprint IS NOT NULL
      AND r.status = 'failed'
      AND (r.reason LIKE 'Amplitude rejected the stored keys%' OR r.reason LIKE 'Gave up after %')
      AND NOT EXISTS (
        SELECT 1 FROM audit_log a
        WHERE a.workspace_id = r.workspace_id AND a.action IN ('amplitude.connected', 'amplitude.keys_replaced')
          AND a.at >= r.updated_at AND a.details ->> 'sameProject' IS DISTINCT FROM 'true'
      )`
  yield* sql`
    CREATE INDEX annotation_records_retryable_idx ON annotation_records (workspace_id, project_fingerprint)
    WHERE retryable`
})
