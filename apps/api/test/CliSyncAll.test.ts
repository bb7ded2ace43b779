import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { IntegrationsRepo, TestsRepo, WorkspacesRepo } from "@findry/persistence"
import { TestSqlLive } from "@findry/persistence/testing"
import { DateTime, Effect, Layer } from "effect"
import { cliEnv, emulatorEnv, emulatorProject, runCli, SealerLive, seedSyncedWorkspace } from "./support/Cli.js"
import { awaitRunners, startRunner } from "./support/Runners.js"

const SuiteLive = Layer.mergeAll(WorkspacesRepo.Default, IntegrationsRepo.Default, TestsRepo.Default, SealerLive).pipe(
  Layer.provideMerge(TestSqlLive()),
  Layer.provideMerge(AmplitudeEmulator.layer({ demoProjects: false }))
)

describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("findry sync run --all on the scheduler runners", () => {
  layer(SuiteLive, { timeout: "90 seconds", excludeTestServices: true })((it) => {
    it.scoped(
      "starts tonight's NightlySync, prints a progress line per change when piped, then the night's outcome",
      () =>
        Effect.gen(function*() {
          const workspaces = yield* Effect.forEach(
            [1, 2, 3],
            () => Effect.flatMap(emulatorProject(), (project) => seedSyncedWorkspace(project, 2))
          )
          const env = yield* cliEnv(yield* emulatorEnv)
          const runner = yield* startRunner("cli-runner", env)
          yield* awaitRunners(1)
          const today = DateTime.formatIsoDateUtc(yield* DateTime.now)

          // Amplitude answers slowly: the command stops following the night after --timeout, the night goes on.
          const emulator = yield* AmplitudeEmulator
          yield* emulator.injectFault({ host: "experimentUs", kind: "latency", ms: 4500 })
          const impatient = yield* runCli(["sync", "run", "--all", "--timeout", "2"], env)
          assert.strictEqual(impatient.code, 1, `${impatient.stderr}\n${runner.output()}`)
          assert.match(
            impatient.stderr,
            new RegExp(`^The sync of ${today} was still running after 2s; it goes on`, "m")
          )
          assert.strictEqual(impatient.stdout, "")
          yield* emulator.clearFaults

          // Started again, the command follows the same night to its end.
          const text = yield* runCli(["sync", "run", "--all"], env)
          assert.strictEqual(text.code, 0, `${text.stderr}\n${runner.output()}`)
          const progress = text.stderr.trim().split("\n")
          assert.isTrue(progress.length >= 1, text.stderr)
          for (const line of progress) assert.match(line, /^[0-3]\/3 workspaces synced$/)
          assert.isTrue(progress.length <= 4, "one line per change")
          assert.strictEqual(progress.at(-1), "3/3 workspaces synced")
          assert.notInclude(text.stderr, "\r", "no bar redrawn in place when stderr is not a terminal")
          assert.strictEqual(
            text.stdout.trim(),
            `Night ${today}: 3 workspaces, 3 succeeded, 0 failed, 0 skipped.`
          )

          const sql = yield* SqlClient.SqlClient
          const runs = yield* sql<{ workspaceId: string; status: string }>`
          SELECT workspace_id::text AS workspace_id, status FROM experiment_sync_runs WHERE sync_date = ${today}::date`
          assert.sameMembers(runs.map((run) => run.workspaceId), workspaces)
          assert.isTrue(runs.every((run) => run.status === "succeeded"))

          // The night ran: a second start answers with its outcome, without syncing again.
          const json = yield* runCli(["sync", "run", "--all", "--json"], env)
          assert.strictEqual(json.code, 0, json.stderr)
          assert.deepStrictEqual(JSON.parse(json.stdout), {
            date: today,
            workspaces: 3,
            succeeded: 3,
            failed: 0,
            skipped: 0,
            failures: []
          })
          const attempts = yield* sql<{ attempts: number }>`
          SELECT attempts FROM experiment_sync_runs WHERE sync_date = ${today}::date`
          assert.isTrue(attempts.every((row) => row.attempts === 1))

          const status = yield* runCli(["jobs", "status", "--json"], env)
          assert.strictEqual(status.code, 0, status.stderr)
          const parsed = JSON.parse(status.stdout)
          assert.strictEqual(parsed.runners.alive, 1)
          assert.deepInclude(parsed.experimentSync, { date: today, workspaces: 3, succeeded: 3, failed: 0 })
        }),
      { timeout: 180_000 }
    )
  })
})
