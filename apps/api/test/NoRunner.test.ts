import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { TestDatabase } from "@findry/persistence/testing"
import { WAITING_FOR_A_SCHEDULER } from "@findry/runtime"
import { Effect, Logger, Redacted } from "effect"
import { connectedWorkspace } from "./support/Decision.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { awaitRunners, startRunner } from "./support/Runners.js"
import { API_TEST_KEYS, ApiTestLive } from "./support/TestApi.js"

/** What the server logged, as `level message`. */
const logged: Array<string> = []
const CapturedLogs = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ logLevel, message }) => {
    logged.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
)

/**
 * An API-only deployment (`FINDRY_ROLE=api`) with no scheduler runner: nothing it enqueues moves, and it says
 * so in its log, its readiness and on the annotations, without leaving its load balancer; a process in role
 * `worker` that starts later pushes the backlog. PostgreSQL only (runners need the server).
 */
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("an API with no scheduler runner", () => {
  layer(ApiTestLive({ role: "api", observability: CapturedLogs }), {
    timeout: "240 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect(
      "warns, reports no_runner while staying ready, shows pending annotations waiting, and a new runner pushes them",
      () =>
        Effect.gen(function*() {
          assert.isTrue(
            logged.some((line) => line.startsWith("WARN No scheduler runner is alive")),
            `a warning at start: ${logged.join("\n")}`
          )
          const emulator = yield* AmplitudeEmulator
          const { admin, amplitude, decide, workspaceId } = yield* connectedWorkspace(`no-runner-${process.pid}`)
          const created = yield* decide("Waits for a runner")
          assert.strictEqual(created.status, 201, created.text)
          const betPath = `/v1/workspaces/${workspaceId}/bets/${created.body.id}`

          const waiting = yield* call("GET", betPath, { user: admin })
          assert.deepInclude(waiting.body.annotations[0], {
            kind: "promoted",
            status: "pending",
            reason: WAITING_FOR_A_SCHEDULER
          })
          const activity = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/annotations`, { user: admin })
          assert.strictEqual(activity.body.annotations[0].reason, WAITING_FOR_A_SCHEDULER)
          const notRunning = yield* call("GET", "/readyz")
          assert.strictEqual(notRunning.status, 200, notRunning.text)
          assert.strictEqual(notRunning.body.checks.scheduler, "no_runner")

          const database = yield* TestDatabase
          const runner = yield* startRunner("late-worker", {
            DATABASE_URL: Redacted.value(database.url),
            DATABASE_POOL_SIZE: "4",
            FINDRY_ENCRYPTION_KEYS: API_TEST_KEYS,
            FINDRY_APP_URL: "http://findry.test",
            AMPLITUDE_US_URL: emulator.urls.us,
            AMPLITUDE_EU_URL: emulator.urls.eu
          })
          yield* awaitRunners(1, "120 seconds").pipe(
            Effect.tapError(() => Effect.sync(() => process.stderr.write(runner.output())))
          )
          const pushed = yield* eventually(
            call("GET", betPath, { user: admin }).pipe(
              Effect.filterOrFail(
                (answer) => answer.body.annotations[0].status === "pushed",
                (answer) => `not pushed yet: ${answer.text}`
              )
            ),
            "60 seconds"
          ).pipe(Effect.tapError(() => Effect.sync(() => process.stderr.write(runner.output()))))
          assert.notProperty(pushed.body.annotations[0], "reason")
          assert.lengthOf(yield* emulator.annotations(amplitude.id), 1)
          const ready = yield* eventually(
            call("GET", "/readyz").pipe(
              Effect.filterOrFail((answer) => answer.body.checks?.scheduler === "ok", (answer) => answer.text)
            ),
            "20 seconds"
          )
          assert.strictEqual(ready.status, 200)
        }).pipe(Effect.scoped),
      { timeout: 240_000 }
    )
  })
})
