import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql"
import { AmplitudeClient, AmplitudeConfig } from "@findry/amplitude-adapter"
import { AmplitudeEmulator, type EmulatorOptions } from "@findry/amplitude-emulator"
import { AnnotationsConfig, type AnnotationsSettings } from "@findry/annotations"
import { Fingerprinter, Keyring, SecretSealer } from "@findry/crypto"
import { TestSqlLive } from "@findry/persistence/testing"
import { ConfigProvider, Effect, Layer, Logger, Redacted } from "effect"
import { ApiConfig } from "../../src/ApiConfig.js"
import { HttpApiLive } from "../../src/HttpServerLive.js"
import { issueToken } from "../../src/Jwt.js"
import { embeddedScheduler } from "../../src/Scheduler.js"

export const TEST_AUTH_SECRET = Redacted.make("test-auth-secret-that-is-long-enough-000")

const testConfig = ConfigProvider.fromMap(
  new Map([
    [
      "FINDRY_ENCRYPTION_KEYS",
      `t2:${Buffer.alloc(32, 2).toString("base64")},t1:${Buffer.alloc(32, 1).toString("base64")}`
    ],
    ["FINDRY_FINGERPRINT_KEY", Buffer.alloc(32, 3).toString("base64")]
  ])
)

const AmplitudeTestLive = Layer.unwrapEffect(Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator
  return AmplitudeClient.Default.pipe(
    Layer.provide([
      AmplitudeConfig.layer({
        usUrl: emulator.urls.us,
        euUrl: emulator.urls.eu,
        experimentUsUrl: emulator.urls.experimentUs,
        experimentEuUrl: emulator.urls.experimentEu,
        timeout: "1500 millis"
      }),
      NodeHttpClient.layerUndici
    ])
  )
}))

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
}

export const ApiTestLive = (options: ApiTestOptions = {}) => apiOn(TestSqlLive(), options)

/** Like `ApiTestLive`, on the database `sql` connects to. */
export const apiOn = <ROut, E>(
  sql: Layer.Layer<ROut | SqlClient.SqlClient, E>,
  options: ApiTestOptions = {}
) =>
  HttpApiLive.pipe(
    Layer.provide(embeddedScheduler("memory")),
    Layer.provide([
      AmplitudeTestLive,
      CryptoTestLive,
      AnnotationsConfig.layer({ appUrl: "http://findry.test", ...options.annotations })
    ]),
    Layer.provide(Layer.succeed(ApiConfig, { port: 0, appUrl: "http://findry.test", authSecret: TEST_AUTH_SECRET })),
    Layer.provideMerge(sql),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provideMerge(AmplitudeEmulator.layer(options.emulator)),
    Layer.provide(Layer.setConfigProvider(testConfig)),
    Layer.provide(options.observability ?? Logger.remove(Logger.defaultLogger))
  )

export const tokenFor = (userId: string, ttlSeconds = 3600) => issueToken(TEST_AUTH_SECRET, { sub: userId, ttlSeconds })

let counter = 0
/** A user id no other test uses. */
export const freshUser = (label: string) => `${label}-${process.pid}-${++counter}`
