import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * `projects.created_seq`: the order projects were created in. `created_at` cannot say it alone: two projects
 * created within the clock's resolution (a millisecond on the embedded database) tie, and their ids are random.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE projects ADD COLUMN created_seq bigserial`
})
