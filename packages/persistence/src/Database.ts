import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Config, Effect, Layer, Option, Redacted, String as Str } from "effect"
import { mkdir } from "node:fs/promises"
import * as NodePath from "node:path"
import { WorkspaceChangesFromPostgres, WorkspaceChangesUnavailable } from "./WorkspaceChanges.js"

const clientOptions = {
  transformResultNames: Str.snakeToCamel,
  transformQueryNames: Str.camelToSnake
} as const

/** How long one statement may run, and wait for a lock, before PostgreSQL cancels it (`0`: no limit). */
export interface SessionTimeouts {
  readonly statementTimeoutMillis: number
  readonly lockTimeoutMillis: number
}

export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = { statementTimeoutMillis: 15_000, lockTimeoutMillis: 5_000 }

export const sessionTimeoutsConfig: Config.Config<SessionTimeouts> = Config.all({
  statementTimeoutMillis: Config.integer("DATABASE_STATEMENT_TIMEOUT_MS").pipe(
    Config.validate({ message: "must be 0 or more", validation: (ms) => ms >= 0 }),
    Config.withDefault(DEFAULT_SESSION_TIMEOUTS.statementTimeoutMillis)
  ),
  lockTimeoutMillis: Config.integer("DATABASE_LOCK_TIMEOUT_MS").pipe(
    Config.validate({ message: "must be 0 or more", validation: (ms) => ms >= 0 }),
    Config.withDefault(DEFAULT_SESSION_TIMEOUTS.lockTimeoutMillis)
  )
})

/** SQLSTATEs of a statement PostgreSQL cancelled for taking too long or waiting too long for a lock. */
export const TIMED_OUT_SQLSTATES: ReadonlySet<string> = new Set(["57014", "55P03"])

/** `url` with every session of the pool starting under `timeouts`, sent as startup options. */
const withSessionTimeouts = (url: Redacted.Redacted, timeouts: SessionTimeouts): Redacted.Redacted => {
  const parsed = new URL(Redacted.value(url))
  const current = parsed.searchParams.get("options")
  const ours = `-c statement_timeout=${timeouts.statementTimeoutMillis} -c lock_timeout=${timeouts.lockTimeoutMillis}`
  parsed.searchParams.set("options", current === null ? ours : `${current} ${ours}`)
  return Redacted.make(parsed.toString())
}

/**
 * A connection pool to a PostgreSQL server. Provides `PgClient` and `SqlClient`. With `timeouts`, no statement of
 * the pool runs or waits for a lock longer than they say (a request then fails fast instead of holding a connection).
 */
export const PgLive = (
  url: Redacted.Redacted,
  options: { readonly maxConnections?: number; readonly timeouts?: SessionTimeouts } = {}
) =>
  PgClient.layer({
    url: options.timeouts === undefined ? url : withSessionTimeouts(url, options.timeouts),
    maxConnections: options.maxConnections ?? 10,
    connectTimeout: "5 seconds",
    ...clientOptions
  })

/**
 * PostgreSQL compiled to WebAssembly (in memory, or persisted under `dataDir`), served on a random loopback port
 * so the same `pg` driver talks to it, for the life of the current scope. Yields its connection URL.
 */
export const startEmbeddedPostgres = (options: { readonly dataDir?: string } = {}) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      if (options.dataDir !== undefined) await mkdir(NodePath.dirname(options.dataDir), { recursive: true })
      const db = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir })
      const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 })
      await server.start()
      return { db, server, url: Redacted.make(`postgres://postgres:postgres@${server.getServerConn()}/postgres`) }
    }),
    ({ db, server }) =>
      Effect.promise(async () => {
        await server.stop()
        await db.close()
      })
  ).pipe(Effect.map(({ url }) => url))

/** Embedded PostgreSQL (see `startEmbeddedPostgres`) with a one-connection pool: PGlite is single-session. */
export const EmbeddedPgLive = (options: { readonly dataDir?: string } = {}) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const url = yield* startEmbeddedPostgres(options)
    yield* Effect.logInfo("Embedded PostgreSQL (PGlite) started").pipe(
      Effect.annotateLogs("dataDir", options.dataDir ?? "in-memory")
    )
    return PgClient.layer({ url, maxConnections: 1, ...clientOptions })
  }))

/**
 * `DATABASE_URL` set: that server. Unset: embedded PGlite with its data under `FINDRY_DATA_DIR` (default `.findry/`).
 * Also provides `WorkspaceChanges`, which the embedded database cannot feed.
 */
export const DatabaseLive = Layer.unwrapEffect(Effect.gen(function*() {
  const url = yield* Config.option(Config.redacted("DATABASE_URL"))
  if (Option.isSome(url)) {
    const maxConnections = yield* Config.integer("DATABASE_POOL_SIZE").pipe(Config.withDefault(10))
    const timeouts = yield* sessionTimeoutsConfig
    return WorkspaceChangesFromPostgres.pipe(Layer.provideMerge(PgLive(url.value, { maxConnections, timeouts })))
  }
  const dataDir = yield* Config.string("FINDRY_DATA_DIR").pipe(Config.withDefault(".findry"))
  return Layer.merge(EmbeddedPgLive({ dataDir: NodePath.resolve(dataDir, "pgdata") }), WorkspaceChangesUnavailable)
}))
