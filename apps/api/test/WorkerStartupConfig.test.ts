import { assert, describe, it } from "@effect/vitest"
import { OtlpReceiver, runMain, spawnMain } from "@findry/observability/testing"
import { makeTestDatabase } from "@findry/persistence/testing"
import { Effect, Redacted, Schedule } from "effect"
import { fileURLToPath } from "node:url"
import { freePort } from "./support/Runners.js"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

/** A worker's variables: no FINDRY_AUTH_SECRET nor FINDRY_FINGERPRINT_KEY, it serves no API. */
const validEnv = {
  FINDRY_ROLE: "worker",
  DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
  FINDRY_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}`
}

const start = (env: Record<string, string>) => runMain(main, env)

const oneLine = (result: { stderr: string }) => {
  const lines = result.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, result.stderr)
  return lines[0]!
}

describe("worker start-up configuration", () => {
  it.live(
    "refuses to start with one line naming FINDRY_ENCRYPTION_KEYS when it is missing",
    () =>
      Effect.gen(function*() {
        const { FINDRY_ENCRYPTION_KEYS: _, ...env } = validEnv
        const result = yield* start(env)
        assert.strictEqual(result.code, 1)
        assert.match(oneLine(result), /^Configuration error: .*FINDRY_ENCRYPTION_KEYS is not set/)
      }),
    { timeout: 60_000 }
  )

  for (const role of ["worker", "api"]) {
    it.live(`refuses FINDRY_ROLE=${role} without DATABASE_URL, saying why`, () =>
      Effect.gen(function*() {
        const { DATABASE_URL: _, ...env } = validEnv
        const result = yield* start({
          ...env,
          FINDRY_ROLE: role,
          FINDRY_AUTH_SECRET: "a".repeat(40),
          FINDRY_FINGERPRINT_KEY: Buffer.alloc(32, 9).toString("base64")
        })
        assert.strictEqual(result.code, 1)
        const line = oneLine(result)
        assert.match(line, /^Configuration error: /)
        assert.include(line, `FINDRY_ROLE is invalid: ${role} needs DATABASE_URL`)
        assert.include(line, "embedded database serves one process only")
      }), { timeout: 60_000 })
  }

  it.live(
    "names every malformed value in one line without echoing any, the role and a wildcard address among them",
    () =>
      Effect.gen(function*() {
        const keys = `k1:${Buffer.alloc(16, 5).toString("base64")}`
        const result = yield* start({
          ...validEnv,
          FINDRY_ROLE: "runner-ish",
          FINDRY_ENCRYPTION_KEYS: keys,
          FINDRY_RUNNER_PORT: "port-99x",
          FINDRY_RUNNER_LISTEN_HOST: "0.0.0.0",
          FINDRY_RUNNER_TRANSPORT: "pigeon",
          FINDRY_SCHEDULER: "external",
          FINDRY_SYNC_WAVE_SIZE: "0",
          FINDRY_ANNOTATION_MAX_ATTEMPTS: "0",
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc"
        })
        assert.strictEqual(result.code, 1)
        const line = oneLine(result)
        assert.match(line, /^Configuration error: /)
        assert.include(line, "FINDRY_ROLE is invalid")
        assert.include(line, "FINDRY_ENCRYPTION_KEYS is invalid")
        assert.include(line, "FINDRY_RUNNER_PORT is invalid")
        assert.include(line, "FINDRY_RUNNER_LISTEN_HOST is invalid: must be this runner's own address, not a wildcard")
        assert.include(line, "FINDRY_RUNNER_TRANSPORT is invalid")
        assert.include(line, "FINDRY_SCHEDULER is invalid: is no longer read")
        assert.include(line, "FINDRY_SYNC_WAVE_SIZE")
        assert.include(line, "FINDRY_ANNOTATION_MAX_ATTEMPTS")
        assert.include(line, "OTEL_EXPORTER_OTLP_PROTOCOL is invalid")
        assert.notInclude(line, keys)
        assert.notInclude(line, Buffer.alloc(16, 5).toString("base64"))
        assert.notInclude(line, "port-99x")
        assert.notInclude(line, "runner-ish")
        assert.notInclude(line, "pigeon")
      }),
    { timeout: 60_000 }
  )

  it.live("refuses a wildcard runner host too", () =>
    Effect.gen(function*() {
      const result = yield* start({ ...validEnv, FINDRY_RUNNER_HOST: "::" })
      assert.strictEqual(result.code, 1)
      assert.include(
        oneLine(result),
        "FINDRY_RUNNER_HOST is invalid: must be this runner's own address, not a wildcard"
      )
    }), { timeout: 60_000 })

  // The runner needs a PostgreSQL server (its shard locks take a connection of their own): not on PGlite.
  it.live.skipIf(process.env.TEST_DATABASE_URL === undefined)(
    "exports traces and metrics as findry-worker when OTEL_EXPORTER_OTLP_ENDPOINT is set",
    () =>
      Effect.gen(function*() {
        const receiver = yield* OtlpReceiver.make
        const database = yield* makeTestDatabase
        const runnerPort = yield* freePort
        const httpPort = yield* freePort
        const child = yield* Effect.acquireRelease(
          Effect.sync(() =>
            spawnMain(main, {
              ...validEnv,
              DATABASE_URL: Redacted.value(database.url),
              FINDRY_RUNNER_HOST: "127.0.0.1",
              FINDRY_RUNNER_PORT: String(runnerPort),
              PORT: String(httpPort),
              LOG_LEVEL: "WARN",
              OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
              OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
              OTEL_BSP_SCHEDULE_DELAY: "200",
              OTEL_METRIC_EXPORT_INTERVAL: "200"
            })
          ),
          (child) => Effect.sync(() => child.kill("SIGKILL"))
        )
        child.stdout.resume()
        child.stderr.resume()
        yield* Effect.suspend(() => {
          const spans = receiver.spans()
          const points = receiver.points()
          return spans.some((span) => span.name === "Migrations.migrate" && span.service === "findry-worker") &&
              points.some((point) => point.metric === "scheduler.backlog.due" && point.service === "findry-worker")
            ? Effect.void
            : Effect.fail(`not exported yet: ${receiver.requests.length} exports`)
        }).pipe(Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 400 }))
        assert.include(receiver.text, "deployment.environment")
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )
})
