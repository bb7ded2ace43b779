import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { TestDatabase } from "@findry/persistence/testing"
import { type Context, Duration, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { connectedWorkspace } from "./support/Decision.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { awaitRunners, type RunnerProcess, startRunner } from "./support/Runners.js"
import { API_TEST_KEYS, ApiTestLive } from "./support/TestApi.js"

/**
 * The advisory lock numbers of the cluster's shards on PostgreSQL: `@effect/cluster`'s SQL runner storage locks
 * shard n of its first (and our only) shard group, `default`, as 1_000_000 + n.
 */
const SHARD_LOCKS = "SELECT pg_advisory_lock(n) FROM generate_series(1000001, 1000100) AS n"

/** `GET path` on the HTTP port of a process the test started, with a client of its own (`plain`). */
const on = (plain: Context.Context<HttpClient.HttpClient>, started: RunnerProcess, path: string) =>
  call("GET", `http://127.0.0.1:${started.httpPort}${path}`).pipe(
    Effect.provide(plain),
    // Refused until it listens: a failure to wait on.
    Effect.catchAllDefect((defect) => Effect.fail({ status: 0, text: String(defect) }))
  )

/**
 * A process in role `worker` is the orchestrator's only view of a runner: its `/readyz` on `PORT` must fail when
 * the scheduler stalls. Here the worker is alive (a fresh heartbeat) but cannot take any shard, because another
 * session holds the shards' locks: a decision's push message is due and nobody consumes it, as in the stall the
 * alarm is for. Once the stall threshold (1 minute, its minimum) passes, the worker's `/readyz` answers 503
 * naming `scheduler`, while an API process (role `api`) stays ready and reports the scheduler `stalled`. When the
 * locks are released the worker takes its shards, pushes the annotation and is ready again. PostgreSQL only.
 */
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("a worker's readiness", () => {
  layer(ApiTestLive({ role: "api", annotations: { stallThreshold: Duration.minutes(1) } }), {
    timeout: "240 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect(
      "is 200 while healthy, 503 naming `scheduler` while due work waits past the stall threshold, 200 again after",
      () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const database = yield* TestDatabase
          const emulator = yield* AmplitudeEmulator
          const plain = yield* Layer.build(NodeHttpClient.layerUndici)

          // Another session takes every shard's lock before the worker starts.
          const locks = yield* Scope.make()
          const holder = yield* sql.reserve.pipe(Scope.extend(locks))
          yield* holder.executeRaw(SHARD_LOCKS, [])

          const worker = yield* startRunner("worker", {
            DATABASE_URL: Redacted.value(database.url),
            DATABASE_POOL_SIZE: "4",
            FINDRY_ENCRYPTION_KEYS: API_TEST_KEYS,
            FINDRY_APP_URL: "http://findry.test",
            FINDRY_SCHEDULER_STALL_MINUTES: "1",
            AMPLITUDE_US_URL: emulator.urls.us,
            AMPLITUDE_EU_URL: emulator.urls.eu
          })
          const printOutput = Effect.sync(() => process.stderr.write(`--- worker\n${worker.output()}`))
          yield* Effect.gen(function*() {
            yield* awaitRunners(1, "120 seconds")
            const healthy = yield* eventually(
              on(plain, worker, "/readyz").pipe(Effect.filterOrFail((answer) => answer.status === 200, (a) => a.text)),
              "60 seconds"
            )
            assert.deepStrictEqual(healthy.body, {
              status: "ready",
              checks: { database: "ok", migrations: "ok", scheduler: "ok" }
            })

            const { admin, decide, workspaceId } = yield* connectedWorkspace(`worker-stall-${process.pid}`)
            const created = yield* decide("Waits for a shard")
            assert.strictEqual(created.status, 201, created.text)
            const enqueuedAt = Date.now()

            const stalled = yield* eventually(
              on(plain, worker, "/readyz").pipe(Effect.filterOrFail((answer) => answer.status !== 200, (a) => a.text)),
              "100 seconds"
            )
            const stalledAfterMs = Date.now() - enqueuedAt
            assert.strictEqual(stalled.status, 503, stalled.text)
            assert.deepStrictEqual(stalled.body, {
              _tag: "NotReady",
              message: "Not ready: scheduler failing",
              failing: ["scheduler"],
              checks: { database: "ok", migrations: "ok", scheduler: "failing" }
            })
            assert.isAtLeast(stalledAfterMs, 55_000, "not before the threshold")
            // Alive all along: a stall is for readiness, not for liveness.
            assert.strictEqual((yield* on(plain, worker, "/healthz")).status, 200)
            // The API only enqueues: it stays in its load balancer and says what it sees.
            const api = yield* call("GET", "/readyz")
            assert.strictEqual(api.status, 200, api.text)
            assert.strictEqual(api.body.checks.scheduler, "stalled")
            const betPath = `/v1/workspaces/${workspaceId}/bets/${created.body.id}`
            assert.strictEqual((yield* call("GET", betPath, { user: admin })).body.annotations[0].status, "pending")

            // The locks go: the worker takes its shards, pushes, and is ready again.
            yield* holder.executeRaw("SELECT pg_advisory_unlock_all()", [])
            yield* Scope.close(locks, Exit.void)
            yield* eventually(
              call("GET", betPath, { user: admin }).pipe(
                Effect.filterOrFail(
                  (answer) => answer.body.annotations[0].status === "pushed",
                  (answer) => `not pushed yet: ${answer.text}`
                )
              ),
              "60 seconds"
            )
            const ready = yield* eventually(
              on(plain, worker, "/readyz").pipe(Effect.filterOrFail((answer) => answer.status === 200, (a) => a.text)),
              "30 seconds"
            )
            assert.strictEqual(ready.body.checks.scheduler, "ok")
            process.stderr.write(`worker readiness: not ready ${stalledAfterMs} ms after the decision\n`)
          }).pipe(Effect.tapErrorCause(() => printOutput))
        }).pipe(Effect.scoped, Effect.orDie),
      { timeout: 240_000 }
    )
  })
})
