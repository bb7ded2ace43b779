import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { annotationMarker } from "@findry/domain"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { ClientSchedulerLive, decide, KINDS, SealerLive, seed, statusCounts } from "./support/Fixtures.js"
import { awaitRunners, startRunner } from "./support/Runners.js"

const WORKSPACES = 5
const BETS_PER_WORKSPACE = 10
const TOTAL = WORKSPACES * BETS_PER_WORKSPACE * KINDS.length

/**
 * Two scheduler runner processes on the real PostgreSQL; one is killed with SIGKILL while pushes are in
 * flight. Afterwards every (bet, kind) has exactly one annotation in Amplitude and none is missing.
 * Needs TEST_DATABASE_URL (CI sets it): PGlite is single-process.
 */
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("scheduler crash (two runners, SIGKILL)", () => {
  it.live(
    "every (bet, kind) ends with exactly one annotation after a runner is killed mid-push",
    () =>
      Effect.gen(function*() {
        const database = yield* makeTestDatabase
        const emulator = yield* AmplitudeEmulator.make({
          demoProjects: false,
          projects: Array.from({ length: WORKSPACES }, (_, i) => ({
            id: `crash-${i}`,
            data: { users: 5, days: 7, experiments: 0 }
          }))
        })
        const projects = yield* emulator.projects
        // Slow creates keep pushes in flight long enough to kill a runner in the middle of them.
        yield* emulator.injectFault({ endpoint: "annotations.create", kind: "latency", ms: 200 })

        const context = yield* Layer.build(
          Layer.mergeAll(ClientSchedulerLive, SealerLive).pipe(
            Layer.provideMerge(MigrationsLive.pipe(Layer.provideMerge(PgLive(database.url, { maxConnections: 4 }))))
          )
        )
        yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const bets = yield* seed(projects, BETS_PER_WORKSPACE)
          const env = {
            DATABASE_URL: Redacted.value(database.url),
            DATABASE_POOL_SIZE: "6",
            FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
            FINDRY_APP_URL: "http://findry.test",
            AMPLITUDE_US_URL: emulator.urls.us,
            AMPLITUDE_EU_URL: emulator.urls.eu,
            AMPLITUDE_TIMEOUT_MS: "3000"
          }
          const first = yield* startRunner("runner-1", env)
          const second = yield* startRunner("runner-2", env)
          yield* awaitRunners(2).pipe(
            Effect.tapError(() => Effect.logError(first.output(), second.output()))
          )

          yield* Effect.forEach(bets, (bet) => decide(bet), { concurrency: 4, discard: true })

          // Kill one runner once a fifth of the annotations have been created.
          yield* emulator.awaitRequests((request) => request.endpoint === "annotations.create", TOTAL / 5).pipe(
            Effect.timeout("60 seconds")
          )
          yield* first.kill("SIGKILL")
          const atKill = yield* statusCounts
          assert.isBelow(atKill["pushed"] ?? 0, TOTAL, "pushes were still in flight when the runner died")

          const counts = yield* statusCounts.pipe(
            Effect.filterOrFail((counts) => counts["pushed"] === TOTAL, (counts) => JSON.stringify(counts)),
            Effect.retry({ schedule: Schedule.spaced("250 millis"), times: 360 }),
            Effect.tapError((counts) => Effect.logError(`stuck at ${counts}`, first.output(), second.output()))
          )
          assert.deepStrictEqual(counts, { pushed: TOTAL })

          const records = yield* sql<{ betId: string; kind: string; amplitudeAnnotationId: number }>`
          SELECT bet_id, kind, amplitude_annotation_id::float8 AS amplitude_annotation_id FROM annotation_records`
          const annotations = (yield* Effect.forEach(projects, (project) => emulator.annotations(project.id))).flat()
          assert.strictEqual(annotations.length, TOTAL, "no duplicate and none missing")
          for (const record of records) {
            const marker = annotationMarker(record.betId, record.kind as (typeof KINDS)[number])
            const found = annotations.filter((annotation) => annotation.details?.split("\n")[0] === marker)
            assert.strictEqual(found.length, 1, `${marker}: ${found.length} annotations`)
            assert.strictEqual(found[0]!.id, record.amplitudeAnnotationId)
          }
          yield* second.kill("SIGTERM")
        }).pipe(Effect.provide(context))
      }).pipe(Effect.scoped),
    { timeout: 200_000 }
  )
})
