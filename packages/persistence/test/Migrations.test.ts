import { Migrator, SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
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

/** A workspace connected to project `fp`, with one bet whose push ended `failed` an hour ago with `reason`. */
const failedPush = (fp: string, reason: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [workspaceId, projectId, metricId, betId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()]
    yield* sql`INSERT INTO workspaces (id, name) VALUES (${workspaceId}, 'W')`
    yield* sql`
      INSERT INTO integrations (id, workspace_id, provider, status, region, project_fingerprint, settings)
      VALUES (${randomUUID()}, ${workspaceId}, 'amplitude', 'connected', 'us', ${fp}, '{}'::jsonb)`
    yield* sql`INSERT INTO projects (id, workspace_id, name) VALUES (${projectId}, ${workspaceId}, 'P')`
    yield* sql`INSERT INTO metrics (id, workspace_id, name, unit) VALUES (${metricId}, ${workspaceId}, 'M', 'percent')`
    yield* sql`
      INSERT INTO bets (id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit,
                        timeframe_days, promoted_at, created_by)
      VALUES (${betId}, ${workspaceId}, ${projectId}, 'Bet', 'promoted', ${metricId}, 'increase', 1, 'percent', 7,
              now(), 'test')`
    yield* sql`
      INSERT INTO annotation_records (bet_id, kind, workspace_id, status, label, annotation_at, reason, updated_at)
      VALUES (${betId}, 'promoted', ${workspaceId}, 'failed', '▲ Bet', now(), ${reason}, now() - interval '1 hour')`
    return { workspaceId, betId }
  })

/** The admin saved keys after the failure; `sameProject` as the connect flow audits it. */
const keysSaved = (workspaceId: string, sameProject: boolean) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO audit_log (id, workspace_id, actor_id, action, details)
      VALUES (${randomUUID()}, ${workspaceId}, 'admin', 'amplitude.keys_replaced',
              ${JSON.stringify({ sameProject })}::jsonb)`)

describe("0009_annotation_redrive on a database that has failed pushes", () => {
  it.layer(TestDatabaseLive, { timeout: "60 seconds" })((it) => {
    it.effect("marks them retryable, with their project, only where the workspace still points at that project", () =>
      withPool(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`
          CREATE TABLE effect_sql_migrations (
            migration_id integer PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), name text NOT NULL)`
        const before = Object.fromEntries(Object.entries(migrations).filter(([key]) => Number.parseInt(key) < 9))
        yield* Migrator.make({})({ loader: Migrator.fromRecord(before) })
        const rejected =
          "Amplitude rejected the stored keys (revoked or regenerated?): reconnect Amplitude with fresh keys"
        const untouched = yield* failedPush("fp-a", rejected)
        const gaveUp = yield* failedPush("fp-b", "Gave up after 8 attempts: Amplitude answered 503")
        const refused = yield* failedPush("fp-c", "Amplitude refused the annotation (400): bad label")
        const sameKeys = yield* failedPush("fp-d", rejected)
        yield* keysSaved(sameKeys.workspaceId, true)
        const otherProject = yield* failedPush("fp-e", rejected)
        yield* keysSaved(otherProject.workspaceId, false)

        const applied = yield* migrate
        assert.strictEqual(applied[0]?.[0], 9, "0009 is the first migration left to apply")
        const rows = yield* sql<{ betId: string; retryable: boolean; projectFingerprint: string | null }>`
          SELECT bet_id, retryable, project_fingerprint FROM annotation_records`
        const state = (bet: { readonly betId: string }) => {
          const row = rows.find((row) => row.betId === bet.betId)!
          return [row.retryable, row.projectFingerprint]
        }
        assert.deepStrictEqual(
          [untouched, gaveUp, refused, sameKeys, otherProject].map(state),
          [[true, "fp-a"], [true, "fp-b"], [false, null], [true, "fp-d"], [false, null]]
        )
      })))
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
