import type { SqlClient } from "@effect/sql"

/**
 * The distinct uuids of `ids` as a subquery of one JSON parameter (`… IN ${uuidList(sql, ids)}`, or `FROM` it as
 * rows of `w`): one statement for any number of ids, where a list of parameters would hit PostgreSQL's limit.
 */
export const uuidList = (sql: SqlClient.SqlClient, ids: ReadonlyArray<string>) =>
  sql`(SELECT w::uuid AS w FROM jsonb_array_elements_text(${JSON.stringify([...new Set(ids)])}::jsonb) AS w)`
