import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { annotationMarker } from "@findry/domain"
import { Effect } from "effect"
import { connectedWorkspace } from "./support/Decision.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { at, awaitRunners, inFleet, printOutput, type RunnerProcess, serviceEnv } from "./support/Runners.js"

const REPLICAS = 3
const DECISIONS = 300

/**
 * Three identical service processes in the default role (`all`: the API and a scheduler runner each) on one
 * PostgreSQL. 300 decisions are recorded over their HTTP APIs, spread over the three; one is killed with SIGKILL
 * while pushes are in flight, and the rest of the decisions go to the two survivors. Every annotation then
 * exists exactly once in Amplitude, none is missing, and the survivors stay ready. PostgreSQL only: the
 * replicas' shard locks need a server.
 */
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("three replicas in role all on one PostgreSQL", () => {
  it.live(
    "push every annotation exactly once when one of them is killed mid-run, and the survivors stay ready",
    () =>
      inFleet("540 seconds", (fleet) =>
        Effect.gen(function*() {
          const emulator = yield* AmplitudeEmulator
          const sql = yield* SqlClient.SqlClient
          const env = serviceEnv("all", fleet.databaseUrl, emulator.urls, { AMPLITUDE_TIMEOUT_MS: "3000" })
          const replicas: Array<RunnerProcess> = []
          for (let i = 1; i <= REPLICAS; i++) replicas.push(yield* fleet.start(`replica-${i}`, env))
          yield* awaitRunners(REPLICAS, "180 seconds")
          for (const replica of replicas) {
            yield* eventually(
              at(replica)(call("GET", "/readyz")).pipe(
                // A replica registers as a runner before its HTTP port listens: a refused connection is retried.
                Effect.catchAllDefect((defect) => Effect.fail(String(defect))),
                Effect.filterOrFail((answer) => answer.status === 200, (answer) => answer.text)
              ),
              "60 seconds"
            )
          }

          // A workspace per replica, each connected to an Amplitude project of its own through that replica.
          const workspaces = yield* Effect.forEach(
            replicas,
            (replica, i) => at(replica)(connectedWorkspace(`fleet-${process.pid}-${i}`))
          )
          // Slow creates keep pushes in flight long enough to kill a replica in the middle of them.
          yield* emulator.injectFault({ endpoint: "annotations.create", kind: "latency", ms: 150 })

          const decideAt = (n: number, on: ReadonlyArray<RunnerProcess>) =>
            at(on[n % on.length]!)(workspaces[n % workspaces.length]!.decide(`Decision ${n}`)).pipe(
              Effect.filterOrFail((answer) => answer.status === 201, (answer) => `decision ${n}: ${answer.text}`)
            )
          const half = DECISIONS / 2
          yield* Effect.forEach(Array.from({ length: half }, (_, n) => n), (n) => decideAt(n, replicas), {
            concurrency: 6,
            discard: true
          })
          yield* emulator.awaitRequests((request) => request.endpoint === "annotations.create", DECISIONS / 10).pipe(
            Effect.timeout("60 seconds"),
            Effect.tapError(() => printOutput(replicas))
          )
          const [killed, ...survivors] = replicas
          yield* killed!.kill("SIGKILL")
          yield* Effect.forEach(Array.from({ length: half }, (_, n) => half + n), (n) => decideAt(n, survivors), {
            concurrency: 6,
            discard: true
          })

          const pushed = sql<{ status: string; n: number }>`
            SELECT status, count(*)::int AS n FROM annotation_records GROUP BY status`.pipe(Effect.orDie)
          const counts = yield* eventually(
            pushed.pipe(
              Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.status, row.n]))),
              Effect.filterOrFail((counts) => counts["pushed"] === DECISIONS, (counts) => JSON.stringify(counts))
            ),
            "120 seconds"
          ).pipe(Effect.tapError(() => printOutput(survivors)))
          assert.deepStrictEqual(counts, { pushed: DECISIONS })

          const records = yield* sql<{ betId: string; kind: string; amplitudeAnnotationId: number }>`
            SELECT bet_id, kind, amplitude_annotation_id::float8 AS amplitude_annotation_id FROM annotation_records`
            .pipe(Effect.orDie)
          const annotations = (yield* Effect.forEach(workspaces, ({ amplitude }) => emulator.annotations(amplitude.id)))
            .flat()
          assert.strictEqual(annotations.length, DECISIONS, "no duplicate and none missing")
          for (const record of records) {
            const marker = annotationMarker(record.betId, record.kind as "promoted")
            const found = annotations.filter((annotation) => annotation.details?.split("\n")[0] === marker)
            assert.strictEqual(found.length, 1, `${marker}: ${found.length} annotations`)
            assert.strictEqual(found[0]!.id, record.amplitudeAnnotationId)
          }
          for (const survivor of survivors) {
            const ready = yield* at(survivor)(call("GET", "/readyz"))
            assert.strictEqual(ready.status, 200, ready.text)
            assert.strictEqual(ready.body.checks.scheduler, "ok")
          }
        })),
    { timeout: 600_000 }
  )
})
