import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { NightlySync, WAVES_IN_FLIGHT } from "@findry/experiment-sync"
import { seedSyncWorkspace } from "@findry/experiment-sync/testing"
import { IntegrationsRepo, MigrationsLive, PgLive, TestsRepo, WorkspacesRepo } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { ClusterClientLive } from "@findry/runtime"
import { Data, Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { SealerLive } from "./support/Fixtures.js"
import { awaitRunners, type RunnerProcess, startRunner } from "./support/Runners.js"

const WORKSPACES = 200
const WAVE = 20
/** Tonight's date: the app's own catch-up cron may start tonight's night too, and that is the same execution. */
const DATE = new Date().toISOString().slice(0, 10)

class NotYet extends Data.TaggedError("NotYet")<{ readonly last: string }> {}

/** Re-reads `check` every 100 ms until `done` holds, failing with the last value after `deadline`. */
const waitFor = <A, E, R>(check: Effect.Effect<A, E, R>, done: (a: A) => boolean, deadline: Duration.DurationInput) =>
  check.pipe(
    Effect.filterOrFail(done, (value) => new NotYet({ last: JSON.stringify(value).slice(0, 500) })),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.decode(deadline))))
  )

const printOutput = (runner: RunnerProcess) => Effect.sync(() => process.stderr.write(runner.output()))

/**
 * A worker process (`apps/api/src/main.ts`, `FINDRY_ROLE=worker`) runs a night of the experiment sync for 200 workspaces in
 * waves of 20; it is killed with SIGKILL mid-run and another worker finishes the night. Every
 * workspace ends synced once: those finished before the kill are neither attempted nor called again, and only
 * the waves in flight at the kill (at most `WAVES_IN_FLIGHT`) are attempted a second time. Needs TEST_DATABASE_URL (CI sets it).
 */
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("the nightly sync across a scheduler crash", () => {
  it.live(
    `syncs each of ${WORKSPACES} workspaces exactly once when the runner dies mid-run`,
    () =>
      Effect.gen(function*() {
        const database = yield* makeTestDatabase
        const emulator = yield* AmplitudeEmulator.make({ demoProjects: false })
        const context = yield* Layer.build(
          Layer.mergeAll(
            ClusterClientLive,
            SealerLive,
            WorkspacesRepo.Default,
            IntegrationsRepo.Default,
            TestsRepo.Default
          )
            .pipe(
              Layer.provideMerge(MigrationsLive.pipe(Layer.provideMerge(PgLive(database.url, { maxConnections: 4 }))))
            )
        )
        yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const workspaces = yield* Effect.forEach(
            Array.from({ length: WORKSPACES }, (_, i) => i),
            (i) =>
              Effect.gen(function*() {
                const hex = (i + 2_000_000).toString(16).padStart(32, "0")
                // One data set for all (the keys would otherwise derive from it and collide).
                const project = yield* emulator.createProject({
                  id: `sync-crash-${i}`,
                  apiKey: hex,
                  secretKey: `S${hex.slice(1)}`,
                  managementKeys: [`ampex_synccrash${String(i).padStart(4, "0")}`],
                  data: { seed: "sync-crash", users: 3, days: 2, experiments: 5 }
                })
                const seeded = yield* seedSyncWorkspace(
                  { ...project, managementKey: project.managementKeys[0]!.key },
                  project.data.experiments.slice(0, 2)
                )
                return { ...seeded, project }
              }),
            { concurrency: 4 }
          )
          yield* emulator.injectFault({ host: "experimentUs", kind: "latency", ms: 120 })
          const env = {
            DATABASE_URL: Redacted.value(database.url),
            DATABASE_POOL_SIZE: "8",
            FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
            FINDRY_SYNC_WAVE_SIZE: String(WAVE),
            AMPLITUDE_US_URL: emulator.urls.us,
            AMPLITUDE_EU_URL: emulator.urls.eu,
            AMPLITUDE_EXPERIMENT_US_URL: emulator.urls.experimentUs,
            AMPLITUDE_EXPERIMENT_EU_URL: emulator.urls.experimentEu,
            AMPLITUDE_TIMEOUT_MS: "5000"
          }
          const finished = sql<{ workspaceId: string; attempts: number }>`
            SELECT workspace_id, attempts FROM experiment_sync_runs
            WHERE sync_date = ${DATE}::date AND status <> 'running'`.pipe(Effect.orDie)
          const progress = sql<{ status: string; n: number }>`
            SELECT status, count(*)::int AS n FROM experiment_sync_runs WHERE sync_date = ${DATE}::date GROUP BY 1`
            .pipe(Effect.orDie)
          const count = (rows: ReadonlyArray<{ status: string; n: number }>, running: boolean) =>
            rows.filter((row) => (row.status === "running") === running).reduce((sum, row) => sum + row.n, 0)

          const finishedAtKill = yield* Effect.scoped(Effect.gen(function*() {
            const runner = yield* startRunner("runner-1", env)
            yield* awaitRunners(1).pipe(Effect.tapError(() => printOutput(runner)))
            // The night starts on demand, as an operator would start it: enqueued by a client-only node.
            yield* NightlySync.execute({ date: DATE }, { discard: true })
            // Killed while a wave is in flight: some workspaces finished, the next ones started.
            const done = yield* waitFor(
              progress,
              (rows) => count(rows, false) >= 3 * WAVE && count(rows, true) > 0,
              "60 seconds"
            ).pipe(Effect.tapError(() => printOutput(runner)))
            yield* runner.kill("SIGKILL")
            return count(done, false)
          }))
          const finishedBeforeKill = new Set((yield* finished).map((row) => row.workspaceId))
          assert.isBelow(finishedBeforeKill.size, WORKSPACES, "the runner was killed mid-run")
          assert.isAtLeast(finishedBeforeKill.size, finishedAtKill)
          const requestsAt = (workspaceIds: ReadonlySet<string>) =>
            Effect.map(emulator.requests({ host: "experimentUs" }), (requests) => {
              const projects = new Set(
                workspaces.filter((w) => workspaceIds.has(w.workspaceId)).map((w) => w.project.id)
              )
              return requests.filter((request) => request.projectId !== null && projects.has(request.projectId)).length
            })
          const requestsOfFinished = yield* requestsAt(finishedBeforeKill)

          const parentReply = sql<{ payload: string }>`
            SELECT r.payload FROM cluster_replies r JOIN cluster_messages m ON m.id = r.request_id
            WHERE m.entity_type = 'Workflow/ExperimentSync/Nightly' AND m.tag = 'run' AND r.kind = 0`.pipe(Effect.orDie)
          const [all, parent] = yield* Effect.scoped(Effect.gen(function*() {
            const runner = yield* startRunner("runner-2", env)
            return yield* Effect.all([
              waitFor(finished, (rows) => rows.length === WORKSPACES, "90 seconds"),
              waitFor(parentReply, (rows) => rows.length > 0, "30 seconds")
            ]).pipe(Effect.tapError(() => printOutput(runner)))
          }))
          yield* emulator.clearFaults

          assert.strictEqual(parent.length, 1, "the night's parent workflow completed once")
          assert.include(parent[0]!.payload, `"succeeded":${WORKSPACES}`)
          const runs = yield* sql<{ status: string; testsSynced: number }>`
            SELECT status, tests_synced FROM experiment_sync_runs WHERE sync_date = ${DATE}::date`.pipe(Effect.orDie)
          assert.strictEqual(runs.length, WORKSPACES)
          assert.isTrue(runs.every((run) => run.status === "succeeded" && run.testsSynced === 2))

          const attemptsOfFinished = all.filter((row) => finishedBeforeKill.has(row.workspaceId))
          assert.deepStrictEqual(
            attemptsOfFinished.filter((row) => row.attempts !== 1),
            [],
            "a workspace finished before the kill is not attempted again"
          )
          const reattempted = all.filter((row) => row.attempts > 1)
          assert.isAtMost(
            reattempted.length,
            WAVES_IN_FLIGHT * WAVE,
            "only the waves in flight at the kill are attempted again"
          )
          assert.isTrue(all.every((row) => row.attempts <= 2), "no workspace is attempted more than twice")
          assert.strictEqual(
            yield* requestsAt(finishedBeforeKill),
            requestsOfFinished,
            "no finished workspace was called again"
          )
          const stale = yield* sql<{ n: number }>`
            SELECT count(*)::int AS n FROM experiment_snapshots WHERE state = 'stale' OR sync_status <> 'synced'`
            .pipe(Effect.orDie)
          assert.strictEqual(stale[0]!.n, 0)
        }).pipe(Effect.provide(context))
      }).pipe(Effect.scoped),
    { timeout: 320_000 }
  )
})
