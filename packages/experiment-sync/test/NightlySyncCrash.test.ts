import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { TestDatabase } from "@findry/persistence/testing"
import { Data, Duration, Effect, Redacted, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { emulatorProject, seedWorkspace, SyncTestLive, TEST_KEYS } from "./support/SyncTest.js"

const WORKSPACES = 200
const WAVE = 20
const DATE = "2026-12-01"
const root = fileURLToPath(new URL("../../..", import.meta.url))
const runnerScript = fileURLToPath(new URL("./support/runner.ts", import.meta.url))

/** A runner process; its output is kept for the failure message. */
const startRunner = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, ["--conditions=@findry/source", "--import", "tsx", runnerScript], {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      const output: Array<string> = []
      child.stdout?.on("data", (chunk) => output.push(String(chunk)))
      child.stderr?.on("data", (chunk) => output.push(String(chunk)))
      return { child, output }
    }),
    ({ child }) => kill(child)
  )

const kill = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

class NotYet extends Data.TaggedError("NotYet")<{ readonly last: string }> {}

/** Re-reads `check` every 100 ms until `done` holds, failing with the last value after `deadline`. */
const waitFor = <A, E, R>(check: Effect.Effect<A, E, R>, done: (a: A) => boolean, deadline: Duration.DurationInput) =>
  check.pipe(
    Effect.filterOrFail(done, (value) => new NotYet({ last: JSON.stringify(value).slice(0, 500) })),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.decode(deadline))))
  )

describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("the nightly sync across a runner crash", () => {
  layer(SyncTestLive(), { timeout: "150 seconds", excludeTestServices: true })((it) => {
    it.effect(
      `syncs each of ${WORKSPACES} workspaces exactly once when the runner dies mid-run`,
      () =>
        Effect.gen(function*() {
          const emulator = yield* AmplitudeEmulator
          const database = yield* TestDatabase
          const sql = yield* SqlClient.SqlClient
          const workspaces = yield* Effect.forEach(
            Array.from({ length: WORKSPACES }, (_, i) => i),
            () =>
              Effect.flatMap(
                emulatorProject({ experiments: 5 }),
                (project) =>
                  Effect.map(seedWorkspace(project, project.data.experiments.slice(0, 2)), (w) => ({ ...w, project }))
              )
          )
          yield* emulator.injectFault({ host: "experimentUs", kind: "latency", ms: 120 })
          const env = {
            SYNC_DATABASE_URL: Redacted.value(database.url),
            SYNC_EXPERIMENT_URL: emulator.urls.experimentUs,
            SYNC_WAVE_SIZE: String(WAVE),
            SYNC_DATE: DATE,
            FINDRY_ENCRYPTION_KEYS: TEST_KEYS
          }
          const finished = sql<{ workspaceId: string; attempts: number }>`
          SELECT workspace_id, attempts FROM experiment_sync_runs
          WHERE sync_date = ${DATE}::date AND status <> 'running'`.pipe(Effect.orDie)

          const first = yield* Effect.scoped(Effect.gen(function*() {
            const runner = yield* startRunner(env)
            // Killed while a wave is in flight: some workspaces finished, the next ones started.
            const progress = sql<{ status: string; n: number }>`
            SELECT status, count(*)::int AS n FROM experiment_sync_runs WHERE sync_date = ${DATE}::date GROUP BY 1`
              .pipe(Effect.orDie)
            const count = (rows: ReadonlyArray<{ status: string; n: number }>, running: boolean) =>
              rows.filter((row) => (row.status === "running") === running).reduce((sum, row) => sum + row.n, 0)
            const done = yield* waitFor(
              progress,
              (rows) => count(rows, false) >= 3 * WAVE && count(rows, true) > 0,
              "60 seconds"
            ).pipe(
              Effect.tapError(() => Effect.sync(() => process.stderr.write(runner.output.join(""))))
            )
            yield* kill(runner.child)
            return count(done, false)
          }))
          const finishedBeforeKill = new Set((yield* finished).map((row) => row.workspaceId))
          assert.isBelow(finishedBeforeKill.size, WORKSPACES, "the runner was killed mid-run")
          assert.isAtLeast(finishedBeforeKill.size, first)
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
            const runner = yield* startRunner(env)
            const debug = Effect.flatMap(
              sql`SELECT entity_type, tag, count(*)::int AS n FROM cluster_messages GROUP BY 1, 2`.pipe(Effect.orDie),
              (rows) => Effect.sync(() => process.stderr.write(`${JSON.stringify(rows)}\n${runner.output.join("")}\n`))
            )
            return yield* Effect.all([
              waitFor(finished, (rows) => rows.length === WORKSPACES, "90 seconds"),
              waitFor(parentReply, (rows) => rows.length > 0, "30 seconds")
            ]).pipe(Effect.tapError(() => debug))
          }))
          if (process.env.SYNC_CRASH_REPORT !== undefined) {
            process.stderr.write(
              `killed after ${finishedBeforeKill.size} of ${WORKSPACES}; re-attempted ${
                all.filter((row) => row.attempts > 1).length
              }\n`
            )
          }
          assert.strictEqual(parent.length, 1, "the night's parent workflow completed once")
          yield* emulator.clearFaults

          const runs = yield* sql<{ status: string; attempts: number; testsSynced: number }>`
          SELECT status, attempts, tests_synced FROM experiment_sync_runs WHERE sync_date = ${DATE}::date`
            .pipe(Effect.orDie)
          assert.strictEqual(runs.length, WORKSPACES)
          assert.isTrue(runs.every((run) => run.status === "succeeded" && run.testsSynced === 2))
          const retried = all.filter((row) => row.attempts > 1)
          assert.isAtMost(retried.length, WAVE, "only the wave in flight at the kill is attempted again")
          assert.isTrue(all.filter((row) => finishedBeforeKill.has(row.workspaceId)).every((row) => row.attempts === 1))
          assert.strictEqual(
            yield* requestsAt(finishedBeforeKill),
            requestsOfFinished,
            "no finished workspace was synced again"
          )
          const stale = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM experiment_snapshots WHERE state = 'stale' OR sync_status <> 'synced'`
            .pipe(Effect.orDie)
          assert.strictEqual(stale[0]!.n, 0)
          assert.include(parent[0]!.payload, `"succeeded":${WORKSPACES}`)
        }),
      { timeout: 150_000 }
    )
  })
})
