import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { ExperimentSyncRepo, TestsRepo } from "@findry/persistence"
import { Effect, Option } from "effect"
import { ExperimentSync } from "../src/ExperimentSync.js"
import { NightlySync, SyncWorkspace } from "../src/Workflows.js"
import { emulatorProject, seedWorkspace, SyncTestLive, toAdapterExperiment } from "./support/SyncTest.js"

const snapshotsOf = (workspaceId: string, testIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const tests = yield* TestsRepo
    return yield* Effect.forEach(testIds, (id) =>
      tests.find(workspaceId as never, id).pipe(
        Effect.map((row) => Option.getOrThrow(row).snapshot!)
      ))
  })

const experimentRequests = (projectId: string) =>
  Effect.flatMap(
    AmplitudeEmulator,
    (emulator) =>
      Effect.map(emulator.requests({ project: projectId }), (requests) =>
        requests.filter((request) => request.host === "experimentUs"))
  )

describe("the nightly experiment sync", () => {
  layer(SyncTestLive({ lookupThreshold: 3, waveSize: 3 }), { timeout: "120 seconds", excludeTestServices: true })(
    (it) => {
      it.effect("refreshes linked tests one by one; archived and deleted experiments are shown as such", () =>
        Effect.gen(function*() {
          const project = yield* emulatorProject()
          const experiments = project.data.experiments
          const running = experiments.find((e) => !e.archived && e.state === "running")!
          const archived = experiments.find((e) => e.archived)!
          const seeded = yield* seedWorkspace(project, [running, archived, "404404"])
          const sync = yield* ExperimentSync

          const outcome = yield* sync.syncWorkspace(seeded.workspaceId, "2026-11-28")
          assert.deepInclude(outcome, { status: "succeeded", testsTotal: 3, testsSynced: 3, reason: null })
          const [fresh, gone, missing] = yield* snapshotsOf(seeded.workspaceId, seeded.testIds)
          assert.deepInclude(fresh, {
            experimentId: running.id,
            state: "running",
            decision: running.decision,
            archived: false,
            deleted: false,
            syncStatus: "synced"
          })
          assert.deepInclude(gone, { experimentId: archived.id, state: archived.state, archived: true, deleted: false })
          assert.deepInclude(missing, {
            experimentId: "404404",
            key: "gone-404404",
            archived: false,
            deleted: true,
            syncStatus: "synced",
            syncError: null
          })
          const requests = yield* experimentRequests(project.id)
          assert.deepStrictEqual(requests.map((r) => r.endpoint).sort(), [
            "experiments.get",
            "experiments.get",
            "experiments.get"
          ])
          const run = Option.getOrThrow(yield* (yield* ExperimentSyncRepo).run(seeded.workspaceId, "2026-11-28"))
          assert.deepInclude(run, {
            status: "succeeded",
            attempts: 1,
            experimentsArchived: 1,
            experimentsDeleted: 1,
            requests: 3
          })

          const again = yield* sync.syncWorkspace(seeded.workspaceId, "2026-11-28")
          assert.deepStrictEqual(again, outcome)
          assert.strictEqual((yield* experimentRequests(project.id)).length, 3, "a finished night is not synced again")
        }))

      it.effect("reads many linked experiments from the list, past 1,000 per page, and looks up the missing", () =>
        Effect.gen(function*() {
          const project = yield* emulatorProject({ experiments: 2_300 })
          const experiments = project.data.experiments
          const oldest = experiments.at(-1)!
          const links = [experiments[0]!, experiments[1_500]!, oldest, experiments.find((e) => e.archived)!, "777"]
          const seeded = yield* seedWorkspace(project, links)
          const outcome = yield* (yield* ExperimentSync).syncWorkspace(seeded.workspaceId, "2026-11-28")
          assert.deepInclude(outcome, { status: "succeeded", testsTotal: 5, testsSynced: 5 })
          const requests = yield* experimentRequests(project.id)
          const pages = requests.filter((r) => r.endpoint === "experiments.list")
          assert.strictEqual(pages.length, 3)
          assert.isTrue(pages.every((page) => page.query["includeArchived"] === "true"))
          assert.deepStrictEqual(
            requests.filter((r) => r.endpoint === "experiments.get").map((r) => r.path),
            ["/api/1/experiments/777"]
          )
          const snapshots = yield* snapshotsOf(seeded.workspaceId, seeded.testIds)
          assert.deepStrictEqual(
            snapshots.map((s) => [s.experimentId, s.state, s.archived, s.deleted]),
            links.map((link) =>
              typeof link === "string"
                ? [link, "running", false, true]
                : [link.id, toAdapterExperiment(link).state, link.archived, false]
            )
          )
        }))

      it.effect("records one broken workspace among many and never stops the others", () =>
        Effect.gen(function*() {
          const emulator = yield* AmplitudeEmulator
          const sql = yield* SqlClient.SqlClient
          yield* sql`DELETE FROM integrations`.pipe(Effect.orDie)
          const healthy = yield* Effect.forEach([1, 2, 3, 4], () =>
            Effect.flatMap(emulatorProject(), (project) =>
              Effect.map(seedWorkspace(project, project.data.experiments.slice(0, 2)), (w) => ({ project, ...w }))))
          const revokedProject = yield* emulatorProject({ managementKey: "revoked" })
          const revoked = yield* seedWorkspace(revokedProject, revokedProject.data.experiments.slice(0, 2))
          const noAccessProject = yield* emulatorProject({ managementKey: "none" })
          const noAccess = yield* seedWorkspace(noAccessProject, noAccessProject.data.experiments.slice(0, 1))
          const stormProject = yield* emulatorProject()
          const storm = yield* seedWorkspace(stormProject, stormProject.data.experiments.slice(0, 1))
          yield* emulator.injectFault({
            project: stormProject.id,
            host: "experimentUs",
            kind: "status",
            status: 429,
            times: 50
          })
          const downProject = yield* emulatorProject()
          const down = yield* seedWorkspace(downProject, downProject.data.experiments.slice(0, 5))
          yield* emulator.injectFault({
            project: downProject.id,
            host: "experimentUs",
            kind: "status",
            status: 503,
            times: 50
          })

          const summary = yield* NightlySync.execute({ date: "2026-11-29" })
          assert.deepInclude(summary, { date: "2026-11-29", workspaces: 8, succeeded: 4, failed: 4, skipped: 0 })
          const runs = yield* (yield* ExperimentSyncRepo).runsOn("2026-11-29")
          const reasonOf = (workspaceId: string) =>
            runs.find((run) =>
              run.workspaceId === workspaceId
            )?.reason
          assert.deepStrictEqual(
            [revoked, noAccess, storm, down].map((w) => reasonOf(w.workspaceId)),
            ["InvalidCredentials", "NoExperimentAccess", "RateLimited", "AmplitudeUnavailable"]
          )
          for (const w of healthy) {
            const run = runs.find((r) => r.workspaceId === w.workspaceId)!
            assert.deepInclude(run, { status: "succeeded", testsSynced: 2, attempts: 1 })
          }
          const [kept] = yield* snapshotsOf(down.workspaceId, down.testIds)
          assert.deepInclude(kept, { syncStatus: "failed", state: "stale" })
          assert.include(kept!.syncError, "Amplitude")
          assert.notInclude(JSON.stringify(runs), revokedProject.managementKeys[0]!.key)
          yield* emulator.clearFaults
        }))

      it.effect("finishes a child a night of an earlier version started; the night does not sync it again", () =>
        Effect.gen(function*() {
          const project = yield* emulatorProject()
          const seeded = yield* seedWorkspace(project, project.data.experiments.slice(0, 2))
          // An earlier version ran a night as a child workflow per workspace; one may still be stored at an upgrade.
          const child = yield* SyncWorkspace.execute({ workspaceId: seeded.workspaceId, date: "2026-12-01" })
          assert.deepInclude(child, { status: "succeeded", testsSynced: 2 })
          const requests = (yield* experimentRequests(project.id)).length
          assert.isAbove(requests, 0)
          const summary = yield* NightlySync.execute({ date: "2026-12-01" })
          assert.isAtLeast(summary.succeeded, 1)
          const run = (yield* (yield* ExperimentSyncRepo).runsOn("2026-12-01")).find((r) =>
            r.workspaceId === seeded.workspaceId
          )
          assert.deepInclude(run, { status: "succeeded", attempts: 1 })
          assert.strictEqual((yield* experimentRequests(project.id)).length, requests)
        }))

      it.effect("skips a workspace that lost its connection, keeping its tests' last state", () =>
        Effect.gen(function*() {
          const project = yield* emulatorProject()
          const seeded = yield* seedWorkspace(project, project.data.experiments.slice(0, 1))
          const sql = yield* SqlClient.SqlClient
          yield* sql`UPDATE integrations SET status = 'disconnected', credential_3 = NULL
                     WHERE workspace_id = ${seeded.workspaceId}`.pipe(Effect.orDie)
          const outcome = yield* (yield* ExperimentSync).syncWorkspace(seeded.workspaceId, "2026-11-30")
          assert.deepInclude(outcome, { status: "skipped", reason: "not_connected" })
          const [snapshot] = yield* snapshotsOf(seeded.workspaceId, seeded.testIds)
          assert.deepInclude(snapshot, { state: "stale", syncStatus: "synced" })
          assert.deepStrictEqual(yield* experimentRequests(project.id), [])
        }))
    }
  )
})
