import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { amplitudeTestClient, KeyringTest } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { BetId, WorkspaceId } from "@findry/domain"
import { TestSqlLive } from "@findry/persistence/testing"
import { Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import {
  AnnotationJobsLive,
  AnnotationScheduler,
  AnnotationSchedulerLive,
  AnnotationsConfig,
  purgeFinishedWorkflows,
  singleRunner
} from "../src/index.js"

const PROJECT = "scheduler-test"

/** The scheduler in-process on a fresh database (PGlite, or TEST_DATABASE_URL), as the API's embedded mode runs it. */
const TestLive = Layer.mergeAll(AnnotationSchedulerLive, AnnotationJobsLive).pipe(
  Layer.provideMerge(singleRunner({ runnerStorage: "memory" })),
  Layer.provide([
    amplitudeTestClient(AmplitudeEmulator),
    AnnotationsConfig.layer({ baseBackoff: Duration.millis(100), maxBackoff: Duration.seconds(30) })
  ]),
  Layer.provideMerge(SecretSealer.DefaultWithoutDependencies.pipe(Layer.provideMerge(KeyringTest))),
  Layer.provideMerge(TestSqlLive()),
  Layer.provideMerge(
    AmplitudeEmulator.layer({ demoProjects: false, projects: [{ id: PROJECT, data: { users: 5, days: 7 } }] })
  )
)

/** A connected workspace with one promoted bet; nothing recorded or enqueued yet. */
const seedBet = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const sealer = yield* SecretSealer
  const emulator = yield* AmplitudeEmulator
  const project = yield* emulator.project(PROJECT)
  const workspaceId = WorkspaceId.make(randomUUID())
  const betId = BetId.make(randomUUID())
  const projectId = randomUUID()
  const metricId = randomUUID()
  const apiKey = yield* sealer.seal(Redacted.make(project.apiKey), { workspaceId, provider: "amplitude", slot: 1 })
  const secretKey = yield* sealer.seal(Redacted.make(project.secretKey), {
    workspaceId,
    provider: "amplitude",
    slot: 2
  })
  yield* sql`INSERT INTO workspaces (id, name) VALUES (${workspaceId}, 'W')`
  yield* sql`
    INSERT INTO integrations (id, workspace_id, provider, status, region, credential_1, credential_2, settings)
    VALUES (${randomUUID()}, ${workspaceId}, 'amplitude', 'connected', 'us', ${apiKey.sealed}, ${secretKey.sealed},
            '{}'::jsonb)`
  yield* sql`INSERT INTO projects (id, workspace_id, name) VALUES (${projectId}, ${workspaceId}, 'P')`
  yield* sql`INSERT INTO metrics (id, workspace_id, name, unit) VALUES (${metricId}, ${workspaceId}, 'M', 'percent')`
  yield* sql`
    INSERT INTO bets (id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit,
                      timeframe_days, promoted_at, created_by)
    VALUES (${betId}, ${workspaceId}, ${projectId}, 'Bet', 'promoted', ${metricId}, 'increase', 1, 'percent', 7,
            now(), 'test')`
  return { workspaceId, betId, kind: "promoted" as const }
}).pipe(Effect.orDie)

const pushMessages = (betId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: number }>`
      SELECT count(*)::int AS n FROM cluster_messages
      WHERE entity_type = 'Workflow/PushAnnotation' AND payload LIKE ${`%${betId}%`}`
    return rows[0]!.n
  }).pipe(Effect.orDie)

const statusOf = (betId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ status: string }>`SELECT status FROM annotation_records WHERE bet_id = ${betId}`
    return rows[0]?.status
  }).pipe(Effect.orDie)

describe("AnnotationScheduler on an in-process SingleRunner (the embedded configuration)", () => {
  layer(TestLive, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("betEvent joins the caller's transaction: a rollback leaves no record and no workflow message", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const scheduler = yield* AnnotationScheduler
        const event = yield* seedBet
        const failed = yield* sql.withTransaction(
          scheduler.betEvent(event).pipe(Effect.zipRight(Effect.fail("domain change rejected" as const)))
        ).pipe(Effect.flip)
        assert.strictEqual(failed, "domain change rejected")
        assert.isUndefined(yield* statusOf(event.betId))
        assert.strictEqual(yield* pushMessages(event.betId), 0)

        yield* sql.withTransaction(scheduler.betEvent(event)).pipe(Effect.orDie)
        assert.strictEqual(yield* pushMessages(event.betId), 1)
        const status = yield* statusOf(event.betId).pipe(
          Effect.filterOrFail((status) => status === "pushed", (status) => `still ${status}`),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
        )
        assert.strictEqual(status, "pushed")
      }))

    it.effect("betEvents records and enqueues many bets' annotations at once; a bet named with another workspace is left alone", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const scheduler = yield* AnnotationScheduler
        const events = yield* Effect.all([seedBet, seedBet, seedBet])
        const elsewhere = yield* seedBet
        const misnamed = { ...elsewhere, workspaceId: events[0]!.workspaceId }
        // A bet named with its own workspace and, later in the same batch, with another one.
        const real = yield* seedBet
        yield* sql.withTransaction(
          scheduler.betEvents([real, ...events, misnamed, { ...real, workspaceId: events[1]!.workspaceId }])
        )
          .pipe(Effect.orDie)
        const [owner] = yield* sql<{ workspaceId: string }>`
          SELECT workspace_id FROM annotation_records WHERE bet_id = ${real.betId}`.pipe(Effect.orDie)
        assert.strictEqual(owner!.workspaceId, real.workspaceId, "recorded under the workspace the bet belongs to")
        for (const event of events) assert.strictEqual(yield* pushMessages(event.betId), 1)
        assert.strictEqual(yield* pushMessages(elsewhere.betId), 0)
        assert.isUndefined(yield* statusOf(elsewhere.betId))
        const executions = yield* sql<{ executionId: string | null; revision: number }>`
          SELECT execution_id, revision FROM annotation_records
          WHERE bet_id IN (${events[0]!.betId}, ${events[1]!.betId}, ${events[2]!.betId})`.pipe(Effect.orDie)
        assert.strictEqual(executions.length, 3)
        assert.isTrue(executions.every((row) => row.executionId !== null && row.revision === 1))
      }))

    it.effect("retryFailed re-queues a failed push once, however many callers run it at once, in the caller's transaction", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const scheduler = yield* AnnotationScheduler
        const emulator = yield* AmplitudeEmulator
        const event = yield* seedBet
        const other = yield* seedBet
        const { workspaceId } = event
        // As the push leaves it when Amplitude rejected the keys of the project the workspace is connected to.
        yield* sql`UPDATE integrations SET project_fingerprint = 'fp-retry' WHERE workspace_id = ${workspaceId}`
        yield* sql`
          INSERT INTO annotation_records (bet_id, kind, workspace_id, status, label, annotation_at, reason,
                                          project_fingerprint, retryable)
          VALUES (${event.betId}, 'promoted', ${workspaceId}, 'failed', '▲ Bet', now(), 'keys rejected', 'fp-retry',
                  true)`

        const rolledBack = yield* sql.withTransaction(
          scheduler.retryFailed({ workspaceId }).pipe(Effect.zipRight(Effect.fail("caller rolled back" as const)))
        ).pipe(Effect.flip)
        assert.strictEqual(rolledBack, "caller rolled back")
        assert.strictEqual(yield* statusOf(event.betId), "failed")
        assert.strictEqual(yield* pushMessages(event.betId), 0)
        assert.deepStrictEqual(yield* scheduler.retryFailed({ workspaceId, betId: other.betId }), { requeued: 0 })

        const results = yield* Effect.all(
          Array.from({ length: 4 }, () => scheduler.retryFailed({ workspaceId })),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(results.map((result) => result.requeued).sort(), [0, 0, 0, 1])
        assert.strictEqual(yield* pushMessages(event.betId), 1)
        yield* statusOf(event.betId).pipe(
          Effect.filterOrFail((status) => status === "pushed", (status) => `still ${status}`),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
        )
        const ours = (yield* emulator.annotations(PROJECT)).filter((annotation) =>
          annotation.details?.startsWith(`findry:${event.betId}:promoted\n`)
        )
        assert.strictEqual(ours.length, 1)
      }).pipe(Effect.orDie))

    it.effect("the retention purge removes finished executions and keeps those still running", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const scheduler = yield* AnnotationScheduler
        const emulator = yield* AmplitudeEmulator
        const finished = yield* seedBet
        yield* sql.withTransaction(scheduler.betEvent(finished)).pipe(Effect.orDie)
        yield* statusOf(finished.betId).pipe(
          Effect.filterOrFail((status) => status === "pushed", (status) => `still ${status}`),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
        )

        yield* emulator.injectFault({
          project: PROJECT,
          endpoint: "annotations.*",
          kind: "status",
          status: 429,
          retryAfterSeconds: 4
        })
        const waiting = yield* seedBet
        yield* sql.withTransaction(scheduler.betEvent(waiting)).pipe(Effect.orDie)
        yield* emulator.awaitRequests((r) => r.status === 429).pipe(Effect.timeout("10 seconds"))

        const purged = yield* purgeFinishedWorkflows(Duration.zero)
        assert.isAtLeast(purged, 1)
        assert.strictEqual(yield* pushMessages(finished.betId), 0)
        assert.isAtLeast(yield* pushMessages(waiting.betId), 1, "a running (sleeping) push is kept")
        assert.strictEqual(yield* statusOf(waiting.betId), "pending")
        yield* emulator.clearFaults
        yield* statusOf(waiting.betId).pipe(
          Effect.filterOrFail((status) => status === "pushed", (status) => `still ${status}`),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
        )
      }))
  })
})
