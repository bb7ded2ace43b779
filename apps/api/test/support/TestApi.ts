import { HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { amplitudeTestClient } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, type EmulatorOptions } from "@findry/amplitude-emulator"
import { AnnotationsConfig, type AnnotationsSettings } from "@findry/annotations"
import { Fingerprinter, Keyring, SecretSealer } from "@findry/crypto"
import { UserId } from "@findry/domain"
import { MigrationsLive, PgLive, WorkspaceChanges, WorkspaceChangesFromPostgres } from "@findry/persistence"
import { TestDatabase, TestSqlLive } from "@findry/persistence/testing"
import { ClientOnlyScheduler, embeddedScheduler } from "@findry/runtime"
import { ConfigProvider, Context, type Duration, Effect, Layer, Logger, Redacted } from "effect"
import { ApiConfig } from "../../src/ApiConfig.js"
import { issueToken } from "../../src/auth/Jwt.js"
import { createApiServer } from "../../src/server/BodyLimit.js"
import { HttpApiLive } from "../../src/server/HttpServerLive.js"

export const TEST_AUTH_SECRET = Redacted.make("test-auth-secret-that-is-long-enough-000")

/** The keyring of every test server (`FINDRY_ENCRYPTION_KEYS`): a current key and an older one. */
export const API_TEST_KEYS = `t2:${Buffer.alloc(32, 2).toString("base64")},t1:${Buffer.alloc(32, 1).toString("base64")}`

/** The configuration every test server reads, plus a suite's `overrides`. */
const testConfig = (overrides: Readonly<Record<string, string>> = {}) =>
  ConfigProvider.fromMap(
    new Map([
      ["FINDRY_ENCRYPTION_KEYS", API_TEST_KEYS],
      ["FINDRY_FINGERPRINT_KEY", Buffer.alloc(32, 3).toString("base64")],
      ...Object.entries(overrides)
    ])
  )

/** The API's own Node server (bounded bodies, timeouts) on a random port, with an `HttpClient` aimed at it. */
export const ApiServerTestLive = HttpServer.layerTestClient.pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
  Layer.provideMerge(NodeHttpServer.layer(createApiServer, { port: 0 }))
)

const CryptoTestLive = Layer.mergeAll(SecretSealer.Default, Fingerprinter.Default, Keyring.Default)

/**
 * The API over real HTTP on a random port, on a fresh migrated database, talking to a local Amplitude emulator.
 * Provides the test `HttpClient` (aimed at the server), the `SqlClient` of the database and the emulator handle.
 */
export interface ApiTestOptions {
  readonly emulator?: EmulatorOptions
  /** Logger and tracer for the server; default: logs dropped. */
  readonly observability?: Layer.Layer<never>
  /** Annotation push settings (the scheduler runs in-process, as with `pnpm start`). */
  readonly annotations?: Partial<AnnotationsSettings>
  /** The per-request deadline; default one minute, as in production. */
  readonly requestTimeoutMillis?: number
  /** Environment variables for this suite's servers, e.g. limits it tests at other values than the defaults. */
  readonly config?: Readonly<Record<string, string>>
  /** Timeout of every Amplitude call; default 1.5 s. */
  readonly amplitudeTimeout?: Duration.DurationInput
  /**
   * `all` (default): the jobs run in the server, as with `pnpm start` (its single runner, shard locks in memory);
   * `api`: the server only enqueues, for worker processes the test starts (PostgreSQL only).
   */
  readonly role?: "all" | "api"
}

export const ApiTestLive = (options: ApiTestOptions = {}) => apiOn(TestSqlLive(), options)

/** Like `ApiTestLive`, on the database `sql` connects to. */
export const apiOn = <ROut, E>(
  sql: Layer.Layer<ROut | SqlClient.SqlClient, E>,
  options: ApiTestOptions = {}
) => serverOn(sql, options).pipe(Layer.provideMerge(AmplitudeEmulator.layer(options.emulator)))

/** The API server alone, calling the `AmplitudeEmulator` it is given. */
const serverOn = <ROut, E>(
  sql: Layer.Layer<ROut | SqlClient.SqlClient, E>,
  options: ApiTestOptions
) =>
  HttpApiLive.pipe(
    Layer.provide(options.role === "api" ? ClientOnlyScheduler : embeddedScheduler("memory")),
    Layer.provide([
      amplitudeTestClient(AmplitudeEmulator, { timeout: options.amplitudeTimeout ?? "1500 millis" }).pipe(
        Layer.provide(Keyring.Default)
      ),
      CryptoTestLive,
      AnnotationsConfig.layer({ appUrl: "http://findry.test", ...options.annotations })
    ]),
    Layer.provide(Layer.succeed(ApiConfig, {
      port: 0,
      appUrl: "http://findry.test",
      authSecret: TEST_AUTH_SECRET,
      requestTimeoutMillis: options.requestTimeoutMillis ?? 60_000
    })),
    Layer.provideMerge(sql),
    Layer.provideMerge(ApiServerTestLive),
    Layer.provide(Layer.setConfigProvider(testConfig(options.config))),
    Layer.provide(options.observability ?? Logger.remove(Logger.defaultLogger))
  )

/**
 * Starts another API server (a replica) on the suite's database and emulator, for the life of the current scope,
 * and yields its context: `call` provided with it talks to the replica. On PostgreSQL the replica has a pool of
 * its own; the embedded database serves one connection, so there it shares the suite's.
 */
export const startReplica = (options: ApiTestOptions = {}) =>
  Effect.gen(function*() {
    const database = yield* TestDatabase
    const sql = database.kind === "pglite"
      ? Layer.succeedContext(
        Context.pick(SqlClient.SqlClient, WorkspaceChanges)(
          yield* Effect.context<SqlClient.SqlClient | WorkspaceChanges>()
        )
      )
      : MigrationsLive.pipe(
        Layer.provideMerge(WorkspaceChangesFromPostgres),
        Layer.provideMerge(PgLive(database.url, { maxConnections: 5 }))
      )
    return yield* Layer.build(
      serverOn(sql, options).pipe(Layer.provide(Layer.succeed(AmplitudeEmulator, yield* AmplitudeEmulator)))
    )
  })

export const tokenFor = (userId: string, ttlSeconds = 3600) => issueToken(TEST_AUTH_SECRET, { sub: userId, ttlSeconds })

let counter = 0
/** A user id no other test uses. */
export const freshUser = (label: string): UserId => UserId.make(`${label}-${process.pid}-${++counter}`)
