import { SqlClient } from "@effect/sql"
import { Config, ConfigProvider, Context, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { DEFAULT_SESSION_TIMEOUTS, PgLive, type SessionTimeouts, startEmbeddedPostgres } from "./Database.js"
import { MigrationsLive } from "./Migrations.js"
import { WorkspaceChangesFromPostgres, WorkspaceChangesUnavailable } from "./WorkspaceChanges.js"

/**
 * A throw-away database for one test suite: a fresh database on the server named by `TEST_DATABASE_URL`
 * (dropped afterwards), or an in-memory PGlite when that variable is unset.
 */
export class TestDatabase extends Context.Tag("@findry/persistence/TestDatabase")<TestDatabase, {
  readonly kind: "postgres" | "pglite"
  readonly url: Redacted.Redacted
  readonly name: string
}>() {}

const withAdminClient = <A, E>(adminUrl: Redacted.Redacted, use: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(PgLive(adminUrl, { maxConnections: 1 }))
    return yield* use(Context.get(context, SqlClient.SqlClient))
  }))

const serverDatabase = (adminUrl: Redacted.Redacted) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `findry_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
      yield* withAdminClient(adminUrl, (sql) => sql`CREATE DATABASE ${sql(name)}`)
      const url = new URL(Redacted.value(adminUrl))
      url.pathname = `/${name}`
      return { kind: "postgres" as const, name, url: Redacted.make(url.toString()) }
    }),
    ({ name }) =>
      withAdminClient(adminUrl, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).pipe(
        Effect.orDie
      )
  ).pipe(Effect.orDie)

const embeddedDatabase = Effect.map(
  startEmbeddedPostgres(),
  (url) => ({ kind: "pglite" as const, name: "postgres", url })
)

/**
 * Creates a fresh database for the life of the current scope. `TEST_DATABASE_URL` is read from the process
 * environment even where a test has put its own `ConfigProvider` in place.
 */
export const makeTestDatabase: Effect.Effect<Context.Tag.Service<TestDatabase>, never, Scope.Scope> = Effect.gen(
  function*() {
    const variable = Config.option(Config.redacted("TEST_DATABASE_URL"))
    // Suites replace the config provider for their own variables; the environment still picks the server.
    const adminUrl = yield* Effect.orElse(
      Effect.filterOrFail(variable, Option.isSome),
      () => Effect.withConfigProvider(variable, ConfigProvider.fromEnv())
    ).pipe(Effect.orDie)
    return Option.isSome(adminUrl) ? yield* serverDatabase(adminUrl.value) : yield* embeddedDatabase
  }
)

export const TestDatabaseLive = Layer.scoped(TestDatabase, makeTestDatabase)

/**
 * `SqlClient`/`PgClient` on a fresh, migrated test database, plus `TestDatabase` describing it and
 * `WorkspaceChanges` (fed on a PostgreSQL server, not on PGlite), as `DatabaseLive` provides them.
 */
export const TestSqlLive = (
  options: { readonly maxConnections?: number; readonly timeouts?: SessionTimeouts } = {}
) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const database = yield* TestDatabase
    const pool = database.kind === "pglite"
      ? PgLive(database.url, { maxConnections: 1 })
      : PgLive(database.url, {
        maxConnections: options.maxConnections ?? 5,
        timeouts: options.timeouts ?? DEFAULT_SESSION_TIMEOUTS
      })
    const withChanges = database.kind === "pglite"
      ? Layer.merge(pool, WorkspaceChangesUnavailable)
      : WorkspaceChangesFromPostgres.pipe(Layer.provideMerge(pool))
    return MigrationsLive.pipe(Layer.provideMerge(withChanges))
  })).pipe(Layer.provideMerge(TestDatabaseLive), Layer.orDie)

/**
 * Transactions PostgreSQL has counted on the test database so far (a statement outside a transaction is one),
 * for benchmarks that report statements per unit of work; 0 on PGlite, which keeps no such count.
 */
export const transactionCount: Effect.Effect<number, never, TestDatabase | SqlClient.SqlClient> = Effect.gen(
  function*() {
    const database = yield* TestDatabase
    if (database.kind !== "postgres") return 0
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: number }>`
      SELECT (xact_commit + xact_rollback)::int AS n FROM pg_stat_database WHERE datname = current_database()`
    return rows[0]?.n ?? 0
  }
).pipe(Effect.orDie)
