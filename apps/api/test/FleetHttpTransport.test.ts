import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import * as NodeHttp from "node:http"
import { connectedWorkspace } from "./support/Decision.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { at, awaitRunners, inFleet, serviceEnv } from "./support/Runners.js"

const DECISIONS = 20

/** The status of a plain HTTP GET of `/` on a local port, or the error's code when the port does not speak HTTP. */
const httpStatusOn = (port: number) =>
  Effect.async<string>((resume) => {
    const request = NodeHttp.get({ host: "127.0.0.1", port, path: "/", timeout: 5_000 }, (response) => {
      response.resume()
      resume(Effect.succeed(String(response.statusCode)))
    })
    request.on("timeout", () => request.destroy(new Error("timeout")))
    request.on("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(error.code ?? error.message)))
    return Effect.sync(() => request.destroy())
  })

/**
 * A fleet whose cluster runs over @effect/cluster's HTTP protocol (`FINDRY_RUNNER_TRANSPORT=http` in every
 * process): one `api` process and two `worker`s on one PostgreSQL. Each worker's runner port speaks HTTP (on the
 * runner's own address, not the public port), and the decisions recorded through the API are each pushed once.
 * PostgreSQL only: the roles need a server.
 */
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("a fleet on the HTTP runner transport", () => {
  it.live(
    `pushes ${DECISIONS} decisions recorded by an api process through two workers, each once`,
    () =>
      inFleet("280 seconds", (fleet) =>
        Effect.gen(function*() {
          const emulator = yield* AmplitudeEmulator
          const sql = yield* SqlClient.SqlClient
          const env = (role: "api" | "worker") =>
            serviceEnv(role, fleet.databaseUrl, emulator.urls, { FINDRY_RUNNER_TRANSPORT: "http" })
          const [api, worker1, worker2] = yield* Effect.all([
            fleet.start("api", env("api")),
            fleet.start("worker-1", env("worker")),
            fleet.start("worker-2", env("worker"))
          ])
          yield* awaitRunners(2, "180 seconds")
          for (const worker of [worker1, worker2]) {
            const status = yield* eventually(
              httpStatusOn(worker.port).pipe(Effect.filterOrFail((status) => /^\d+$/.test(status), (s) => s)),
              "30 seconds"
            )
            assert.match(status, /^[1-5]\d\d$/, "the runner port answers HTTP")
          }
          const ready = yield* eventually(
            at(api)(call("GET", "/readyz")).pipe(
              Effect.catchAllDefect((defect) => Effect.fail(String(defect))),
              Effect.filterOrFail((answer) => answer.body?.checks?.scheduler === "ok", (answer) => answer.text)
            ),
            "120 seconds"
          )
          assert.strictEqual(ready.status, 200)

          const { amplitude, decide, workspaceId } = yield* at(api)(connectedWorkspace(`http-${process.pid}`))
          yield* Effect.forEach(
            Array.from({ length: DECISIONS }, (_, n) => n),
            (n) =>
              at(api)(decide(`Decision ${n}`)).pipe(
                Effect.filterOrFail((answer) => answer.status === 201, (answer) => `decision ${n}: ${answer.text}`)
              ),
            { concurrency: 4, discard: true }
          )
          yield* eventually(
            sql<{ n: number }>`
              SELECT count(*)::int AS n FROM annotation_records
              WHERE workspace_id = ${workspaceId} AND status = 'pushed'`.pipe(
              Effect.orDie,
              Effect.filterOrFail(([row]) => row!.n === DECISIONS, ([row]) => `${row!.n} pushed`)
            ),
            "90 seconds"
          )
          const annotations = yield* emulator.annotations(amplitude.id)
          assert.strictEqual(annotations.length, DECISIONS, "each decision is annotated once")
          assert.strictEqual(new Set(annotations.map((annotation) => annotation.details)).size, DECISIONS)
        })),
    { timeout: 300_000 }
  )
})
