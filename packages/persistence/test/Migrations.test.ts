import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { PgLive } from "../src/Database.js"
import { latestMigrationId, migrate, migrations } from "../src/Migrations.js"
import { makeTestDatabase, TestDatabase, TestDatabaseLive } from "../src/Testing.js"

const onRealPostgres = process.env.TEST_DATABASE_URL !== undefined

const withPool = <A, E>(use: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.gen(function*() {
    const database = yield* TestDatabase
    const context = yield* Layer.build(PgLive(database.url, { maxConnections: database.kind === "pglite" ? 1 : 3 }))
    return yield* Effect.provide(use, context)
  }).pipe(Effect.scoped)

const appliedIds = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ migrationId: number }>`SELECT migration_id FROM effect_sql_migrations ORDER BY 1`
  return rows.map((row) => row.migrationId)
})

describe("migrations", () => {
  it.layer(TestDatabaseLive, { timeout: "60 seconds" })((it) => {
    it.effect("apply once and are a no-op on every later start", () =>
      withPool(Effect.gen(function*() {
        const first = yield* migrate
        assert.deepStrictEqual(first.map(([id]) => id), Object.keys(migrations).map((key) => Number.parseInt(key)))
        const second = yield* migrate
        assert.deepStrictEqual(second, [])
        const ids = yield* appliedIds
        assert.strictEqual(ids.at(-1), latestMigrationId)
        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ tableName: string }>`
          SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`
        assert.includeMembers(tables.map((t) => t.tableName), ["projects", "workspace_members", "workspaces"])
      })))
  })

  describe("on a fresh database", () => {
    it.effect.skipIf(!onRealPostgres)(
      "are safe when two processes start at the same moment",
      () =>
        Effect.gen(function*() {
          const database = yield* makeTestDatabase
          const starter = Effect.scoped(Effect.gen(function*() {
            const context = yield* Layer.build(PgLive(database.url, { maxConnections: 2 }))
            return yield* Effect.provide(migrate, context)
          }))
          const results = yield* Effect.all([starter, starter, starter, starter], { concurrency: "unbounded" })
          const applied = results.flat().map(([id]) => id).sort((a, b) => a - b)
          assert.deepStrictEqual(applied, Object.keys(migrations).map((key) => Number.parseInt(key)))
          const ids = yield* Effect.provide(appliedIds, PgLive(database.url, { maxConnections: 1 }))
          assert.deepStrictEqual(ids, Object.keys(migrations).map((key) => Number.parseInt(key)))
        }).pipe(Effect.scoped)
    )
  })
})

describe("the test database", () => {
  it.layer(TestDatabaseLive, { timeout: "60 seconds" })((it) => {
    it.effect("is the kind the environment asks for", () =>
      Effect.gen(function*() {
        const database = yield* TestDatabase
        assert.strictEqual(database.kind, onRealPostgres ? "postgres" : "pglite")
        const sql = yield* Effect.map(
          Layer.build(PgLive(database.url, { maxConnections: 1 })),
          Context.get(SqlClient.SqlClient)
        )
        const [row] = yield* sql<{ one: number }>`SELECT 1 AS one`
        assert.strictEqual(row?.one, 1)
      }).pipe(Effect.scoped))
  })
})
