import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Annotation push bookkeeping on top of `annotation_records` (0003):
 * - `search_from`/`search_to`: every time the annotation has had, so the marker search after a crash also
 *   finds a copy created for an earlier ship date;
 * - `execution_id`: the workflow execution pushing the latest revision;
 * - `attempts`: Amplitude attempts of that execution so far.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    ALTER TABLE annotation_records
      ADD COLUMN search_from timestamptz,
      ADD COLUMN search_to timestamptz,
      ADD COLUMN execution_id text,
      ADD COLUMN attempts integer NOT NULL DEFAULT 0`
  yield* sql`UPDATE annotation_records SET search_from = annotation_at, search_to = annotation_at`
  yield* sql`CREATE INDEX annotation_records_workspace_updated_idx ON annotation_records (workspace_id, updated_at DESC)`
})
