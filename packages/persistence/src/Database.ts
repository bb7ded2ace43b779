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

/** A connection pool to a PostgreSQL server. Provides `PgClient` and `SqlClient`. */
export const PgLive = (url: Redacted.Redacted, options: { readonly maxConnections?: number } = {}) =>
  PgClient.layer({
    url,
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
    return WorkspaceChangesFromPostgres.pipe(Layer.provideMerge(PgLive(url.value, { maxConnections })))
  }
  const dataDir = yield* Config.string("FINDRY_DATA_DIR").pipe(Config.withDefault(".findry"))
  return Layer.merge(EmbeddedPgLive({ dataDir: NodePath.resolve(dataDir, "pgdata") }), WorkspaceChangesUnavailable)
}))
