import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { spawnMain } from "@findry/observability/testing"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { Duration, Effect, Layer, Redacted, Schedule, type Scope } from "effect"
import type { ChildProcess } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { API_TEST_KEYS, TEST_AUTH_SECRET } from "./TestApi.js"

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url))

/** A value for `FINDRY_AUTH_SECRET` of the service processes the tests start. */
export const PROCESS_AUTH_SECRET = "process-auth-secret-that-is-long-enough-0"

/** A TCP port nobody listens on right now. */
export const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

export interface RunnerProcess {
  readonly name: string
  /** Its HTTP port (`PORT`): the API, or a worker's health endpoints. */
  readonly httpPort: number
  /** Its runner's port (`FINDRY_RUNNER_PORT`). */
  readonly port: number
  readonly child: ChildProcess
  readonly output: () => string
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
}

/**
 * Starts the service (`apps/api/src/main.ts`, on the sources, with `spawnMain`) in its own process, in role
 * `worker` unless `env` says another `FINDRY_ROLE`, with free ports of its own for HTTP and its runner. It is
 * stopped with SIGKILL when the scope closes, if it still runs.
 */
export const startRunner = (
  name: string,
  env: Record<string, string>
): Effect.Effect<RunnerProcess, never, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* freePort
    const httpPort = yield* freePort
    const lines: Array<string> = []
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawnMain(main, {
          ...process.env,
          LOG_FORMAT: "logfmt",
          LOG_LEVEL: "WARN",
          FINDRY_ROLE: "worker",
          FINDRY_AUTH_SECRET: PROCESS_AUTH_SECRET,
          PORT: String(httpPort),
          FINDRY_RUNNER_HOST: "127.0.0.1",
          FINDRY_RUNNER_LISTEN_HOST: "127.0.0.1",
          FINDRY_RUNNER_PORT: String(port),
          ...env
        })
      ),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )
    const keep = (chunk: Buffer) => {
      lines.push(chunk.toString())
      if (lines.length > 200) lines.shift()
    }
    child.stdout?.on("data", keep)
    child.stderr?.on("data", keep)
    return {
      name,
      httpPort,
      port,
      child,
      output: () => lines.join(""),
      kill: (signal) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill(signal)
        })
    }
  })

/** Waits until `count` runners are registered and healthy in the cluster's runner table. */
export const awaitRunners = (count: number, deadline: Duration.DurationInput = "60 seconds") =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const ready = sql<{ runners: number }>`
      SELECT count(*)::int AS runners FROM cluster_runners WHERE healthy`.pipe(
      Effect.map((rows) => rows[0]?.runners ?? 0),
      Effect.catchAll(() => Effect.succeed(0))
    )
    yield* ready.pipe(
      Effect.filterOrFail((runners) => runners >= count, () => "not yet"),
      Effect.retry({ schedule: Schedule.spaced("200 millis"), times: Math.ceil(Duration.toMillis(deadline) / 200) })
    )
  })

/** Runs `effect` against the HTTP API of `replica`. */
export const at = (replica: RunnerProcess) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.updateService(
    effect,
    HttpClient.HttpClient,
    HttpClient.mapRequest(HttpClientRequest.prependUrl(`http://127.0.0.1:${replica.httpPort}`))
  )

/** Writes what each process printed to stderr, after a failure. */
export const printOutput = (processes: ReadonlyArray<RunnerProcess>) =>
  Effect.sync(() => processes.forEach((one) => process.stderr.write(`--- ${one.name}\n${one.output()}`)))

/**
 * The environment of a service process the tests start in `role`: the database at `databaseUrl`, the test secrets and
 * the emulator's hosts. Amplitude calls time out after 10 s unless `overrides` says otherwise.
 */
export const serviceEnv = (
  role: "all" | "api" | "worker",
  databaseUrl: Redacted.Redacted,
  urls: { readonly us: string; readonly eu: string; readonly experimentUs: string; readonly experimentEu: string },
  overrides: Record<string, string> = {}
): Record<string, string> => ({
  FINDRY_ROLE: role,
  DATABASE_URL: Redacted.value(databaseUrl),
  DATABASE_POOL_SIZE: "6",
  FINDRY_AUTH_SECRET: Redacted.value(TEST_AUTH_SECRET),
  FINDRY_ENCRYPTION_KEYS: API_TEST_KEYS,
  FINDRY_FINGERPRINT_KEY: Buffer.alloc(32, 3).toString("base64"),
  FINDRY_APP_URL: "http://findry.test",
  AMPLITUDE_US_URL: urls.us,
  AMPLITUDE_EU_URL: urls.eu,
  AMPLITUDE_EXPERIMENT_US_URL: urls.experimentUs,
  AMPLITUDE_EXPERIMENT_EU_URL: urls.experimentEu,
  AMPLITUDE_TIMEOUT_MS: "10000",
  ...overrides
})

/** What a fleet test gets from `inFleet`: its own database and a way to start service processes on it. */
export interface Fleet {
  readonly databaseUrl: Redacted.Redacted
  /** Starts a service process (`startRunner`); what it printed is shown if the test fails. */
  readonly start: (name: string, env: Record<string, string>) => Effect.Effect<RunnerProcess, never, Scope.Scope>
}

/**
 * Runs a test of several service processes: a fresh database (migrated, with a small pool for the test's own
 * queries), the emulator in this process and an HTTP client are provided to `body`; it fails after `timeout`, and on
 * any failure every process started through `fleet.start` has its output printed. The processes stop with the scope.
 */
export const inFleet = <A, E>(
  timeout: Duration.DurationInput,
  body: (
    fleet: Fleet
  ) => Effect.Effect<A, E, AmplitudeEmulator | SqlClient.SqlClient | HttpClient.HttpClient | Scope.Scope>
) =>
  Effect.gen(function*() {
    const database = yield* makeTestDatabase
    const context = yield* Layer.build(Layer.mergeAll(
      AmplitudeEmulator.layer({ demoProjects: false }),
      MigrationsLive.pipe(Layer.provideMerge(PgLive(database.url, { maxConnections: 4 }))),
      NodeHttpClient.layerUndici
    ))
    const processes: Array<RunnerProcess> = []
    const start = (name: string, env: Record<string, string>) =>
      Effect.tap(startRunner(name, env), (started) => Effect.sync(() => processes.push(started)))
    return yield* body({ databaseUrl: database.url, start }).pipe(
      Effect.provide(context),
      Effect.timeoutFail({ duration: timeout, onTimeout: () => "timed out" }),
      Effect.tapErrorCause(() => printOutput(processes))
    )
  }).pipe(Effect.scoped)
