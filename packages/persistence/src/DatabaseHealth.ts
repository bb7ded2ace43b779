import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { latestMigrationId } from "./Migrations.js"

export interface DatabaseStatus {
  readonly database: "ok" | "failing"
  readonly migrations: "ok" | "failing"
}

export class DatabaseHealth extends Effect.Service<DatabaseHealth>()("@findry/persistence/DatabaseHealth", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const check: Effect.Effect<DatabaseStatus> = sql<{ latest: number | null }>`
      SELECT max(migration_id)::int AS latest FROM effect_sql_migrations`.pipe(
      Effect.timeout("2 seconds"),
      Effect.map((rows): DatabaseStatus => ({
        database: "ok",
        migrations: (rows[0]?.latest ?? 0) >= latestMigrationId ? "ok" : "failing"
      })),
      Effect.catchAll(() =>
        sql`SELECT 1`.pipe(
          Effect.timeout("2 seconds"),
          Effect.as<DatabaseStatus>({ database: "ok", migrations: "failing" }),
          Effect.orElseSucceed((): DatabaseStatus => ({ database: "failing", migrations: "failing" }))
        )
      ),
      Effect.withSpan("DatabaseHealth.check")
    )

    return { check } as const
  })
}) {}
