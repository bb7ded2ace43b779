import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { amplitudeTestClient, testKeyring } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, DEMO_PROJECTS, type Experiment } from "@findry/amplitude-emulator"
import { WorkspaceId } from "@findry/domain"
import { ExperimentSync, ExperimentSyncSettings } from "@findry/experiment-sync"
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { type Answer, call, workspaceOf } from "./support/Http.js"
import { API_TEST_KEYS, ApiTestLive, freshUser } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us
const usKeys = { region: "us", apiKey: US.apiKey, secretKey: US.secretKey }

const expectError = (answer: Answer, status: number, tag: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.strictEqual(answer.body._tag, tag, answer.text)
  assert.isString(answer.body.message)
}

/** A connected workspace (management key optional) with an admin, a member and one project. */
const setup = (options: { readonly connect?: boolean; readonly managementKey?: boolean } = {}) =>
  Effect.gen(function*() {
    const admin = freshUser("admin")
    const member = freshUser("member")
    const workspaceId = yield* workspaceOf(admin)
    yield* call("PUT", `/v1/workspaces/${workspaceId}/members/${member}`, { user: admin, body: { role: "member" } })
    const project = yield* call("POST", `/v1/workspaces/${workspaceId}/projects`, {
      user: admin,
      body: { name: "Checkout" }
    })
    const integration = `/v1/workspaces/${workspaceId}/integrations/amplitude`
    if (options.connect !== false) {
      assert.strictEqual((yield* call("PUT", integration, { user: admin, body: usKeys })).status, 200)
      if (options.managementKey !== false) {
        const key = yield* call("PUT", `${integration}/management-key`, {
          user: admin,
          body: { managementKey: US.managementKeys[0] }
        })
        assert.strictEqual(key.status, 200, key.text)
      }
    }
    const projectId = project.body.id as string
    return {
      admin,
      member,
      workspaceId,
      projectId,
      integration,
      tests: `/v1/workspaces/${workspaceId}/projects/${projectId}/tests`,
      test: (testId: string) => `/v1/workspaces/${workspaceId}/tests/${testId}`
    }
  })

const seeded = Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator
  return (yield* emulator.project(US.id)).data.experiments
})

const expectLinked = (linked: any, experiment: Experiment) => {
  assert.deepInclude(linked, {
    id: experiment.id,
    key: experiment.key,
    name: experiment.name,
    state: experiment.archived ? "archived" : experiment.state,
    decision: experiment.decision,
    startDate: experiment.startDate,
    endDate: experiment.endDate,
    archived: experiment.archived,
    deleted: false,
    syncStatus: "synced",
    syncError: null
  })
  assert.deepStrictEqual(
    linked.variants,
    experiment.variants.map((variant) => variant.name === undefined ? { key: variant.key } : variant)
      .map(({ key, name }) => name === undefined ? { key } : { key, name })
  )
  assert.isString(linked.syncedAt)
}

const testCount = (workspaceId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM tests WHERE workspace_id = ${workspaceId}`
    return rows[0]!.n
  }).pipe(Effect.orDie)

/** Runs tonight's sync of one workspace in-process, the way the scheduler's child workflow does. */
const syncNow = (workspaceId: string, date: string) =>
  Effect.gen(function*() {
    // The keyring of `ApiTestLive`, so that the sync opens what the API sealed.
    const amplitude = amplitudeTestClient(AmplitudeEmulator, { timeout: "1500 millis" }).pipe(
      Layer.provide(testKeyring(API_TEST_KEYS))
    )
    const sync = ExperimentSync.Default.pipe(Layer.provide([amplitude, ExperimentSyncSettings.Default]))
    return yield* Effect.flatMap(
      ExperimentSync,
      (service) => service.syncWorkspace(WorkspaceId.make(workspaceId), date)
    )
      .pipe(Effect.provide(sync))
  })

describe("tests linked to Amplitude experiments", () => {
  layer(ApiTestLive(), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("creates tests with and without a linked experiment, validated in Amplitude", () =>
      Effect.gen(function*() {
        const { member, test, tests, workspaceId } = yield* setup()
        const experiments = yield* seeded
        const running = experiments.find((e) => e.state === "running" && !e.archived)!

        const plain = yield* call("POST", tests, { user: member, body: { name: " Pricing copy ", type: "other" } })
        assert.strictEqual(plain.status, 201, plain.text)
        assert.deepInclude(plain.body, { name: "Pricing copy", type: "other", amplitudeExperiment: null })

        const linked = yield* call("POST", tests, {
          user: member,
          body: { name: "Checkout CTA", type: "ab_experiment", amplitudeExperimentId: ` ${running.id} ` }
        })
        assert.strictEqual(linked.status, 201, linked.text)
        expectLinked(linked.body.amplitudeExperiment, running)

        const read = yield* call("GET", test(linked.body.id), { user: member })
        assert.strictEqual(read.status, 200)
        assert.deepStrictEqual(read.body, linked.body)
        const listed = yield* call("GET", tests, { user: member })
        assert.deepStrictEqual(listed.body.tests.map((t: { id: string }) => t.id), [plain.body.id, linked.body.id])

        const unlinkedAb = yield* call("POST", tests, { user: member, body: { name: "Later", type: "ab_experiment" } })
        assert.strictEqual(unlinkedAb.status, 201)
        assert.isNull(unlinkedAb.body.amplitudeExperiment)
        assert.strictEqual(yield* testCount(workspaceId), 3)
      }))

    it.effect("rejects an unknown experiment, a missing key and a missing connection with typed 4xx errors", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const full = yield* setup()
        const before = (yield* emulator.requests({ host: "experimentUs" })).length
        const unknown = yield* call("POST", full.tests, {
          user: full.member,
          body: { name: "Ghost", type: "ab_experiment", amplitudeExperimentId: "999999999" }
        })
        expectError(unknown, 422, "ExperimentNotFound")
        assert.strictEqual(unknown.body.experimentId, "999999999")
        assert.strictEqual((yield* emulator.requests({ host: "experimentUs" })).length, before + 1)

        const noKey = yield* setup({ managementKey: false })
        const experimentId = (yield* seeded)[0]!.id
        expectError(
          yield* call("POST", noKey.tests, {
            user: noKey.member,
            body: { name: "A", type: "ab_experiment", amplitudeExperimentId: experimentId }
          }),
          409,
          "ManagementKeyRequired"
        )
        const notConnected = yield* setup({ connect: false })
        expectError(
          yield* call("POST", notConnected.tests, {
            user: notConnected.member,
            body: { name: "A", type: "ab_experiment", amplitudeExperimentId: experimentId }
          }),
          409,
          "NotConnected"
        )
        for (const workspace of [full, noKey, notConnected]) {
          assert.strictEqual(yield* testCount(workspace.workspaceId), 0)
        }
      }))

    it.effect("answers 400 to bad input and changes nothing", () =>
      Effect.gen(function*() {
        const { member, projectId, test, tests, workspaceId } = yield* setup()
        const experimentId = (yield* seeded)[0]!.id
        const bad = [
          {},
          { name: "", type: "other" },
          { name: "x".repeat(201), type: "other" },
          { name: "Tab\tname", type: "other" },
          { name: "A", type: "usability" },
          { name: "A", type: "ab_experiment", amplitudeExperimentId: "" },
          { name: "A", type: "ab_experiment", amplitudeExperimentId: "../../admin" },
          { name: "A", type: "ab_experiment", amplitudeExperimentId: 42 },
          { name: "A", type: "other", amplitudeExperimentId: experimentId }
        ]
        for (const body of bad) {
          const answer = yield* call("POST", tests, { user: member, body })
          assert.strictEqual(answer.status, 400, `${JSON.stringify(body)} → ${answer.text}`)
        }
        const other = yield* call("POST", tests, { user: member, body: { name: "Survey", type: "other" } })
        const link = (testId: string, body: unknown) =>
          call("PUT", `${test(testId)}/amplitude-experiment`, { user: member, body })
        expectError(yield* link(other.body.id, { experimentId }), 400, "ValidationError")
        assert.strictEqual((yield* link(other.body.id, { experimentId: "a b" })).status, 400)
        assert.strictEqual((yield* link(other.body.id, {})).status, 400)
        assert.strictEqual((yield* call("GET", test("not-a-uuid"), { user: member })).status, 400)
        assert.strictEqual(
          (yield* call("POST", `/v1/workspaces/${workspaceId}/projects/${projectId}x/tests`, {
            user: member,
            body: { name: "A", type: "other" }
          })).status,
          400
        )
        assert.strictEqual(yield* testCount(workspaceId), 1)
        assert.isNull((yield* call("GET", test(other.body.id), { user: member })).body.amplitudeExperiment)
      }))

    it.effect("links and re-links a test; archived experiments show as archived", () =>
      Effect.gen(function*() {
        const { member, test, tests } = yield* setup()
        const experiments = yield* seeded
        const [first, second] = experiments.filter((e) => !e.archived)
        const archived = experiments.find((e) => e.archived)!
        const created = yield* call("POST", tests, { user: member, body: { name: "Hero", type: "ab_experiment" } })
        const path = `${test(created.body.id)}/amplitude-experiment`

        const linked = yield* call("PUT", path, { user: member, body: { experimentId: first!.id } })
        assert.strictEqual(linked.status, 200, linked.text)
        expectLinked(linked.body.amplitudeExperiment, first!)
        const relinked = yield* call("PUT", path, { user: member, body: { experimentId: second!.id } })
        expectLinked(relinked.body.amplitudeExperiment, second!)
        const toArchived = yield* call("PUT", path, { user: member, body: { experimentId: archived.id } })
        assert.strictEqual(toArchived.status, 200, toArchived.text)
        expectLinked(toArchived.body.amplitudeExperiment, archived)
        assert.strictEqual(toArchived.body.amplitudeExperiment.state, "archived")

        const missing = yield* call("PUT", path, { user: member, body: { experimentId: "123" } })
        expectError(missing, 422, "ExperimentNotFound")
        assert.strictEqual(
          (yield* call("GET", test(created.body.id), { user: member })).body.amplitudeExperiment.id,
          archived.id
        )
      }))

    it.effect("keeps tests private to their workspace", () =>
      Effect.gen(function*() {
        const mine = yield* setup()
        const theirs = yield* setup({ connect: false })
        const created = yield* call("POST", mine.tests, { user: mine.member, body: { name: "A", type: "other" } })
        expectError(yield* call("GET", mine.test(created.body.id), { user: theirs.member }), 404, "NotFound")
        expectError(
          yield* call("GET", `/v1/workspaces/${theirs.workspaceId}/tests/${created.body.id}`, { user: theirs.member }),
          404,
          "NotFound"
        )
        expectError(
          yield* call("POST", `/v1/workspaces/${mine.workspaceId}/projects/${theirs.projectId}/tests`, {
            user: mine.member,
            body: { name: "A", type: "other" }
          }),
          404,
          "NotFound"
        )
        expectError(
          yield* call("PUT", `${mine.test(randomUUID())}/amplitude-experiment`, {
            user: mine.member,
            body: { experimentId: "1" }
          }),
          404,
          "NotFound"
        )
        expectError(yield* call("GET", mine.tests, { user: null }), 401, "Unauthorized")
      }))

    it.effect("reports Amplitude trouble while linking as a typed error, not a 500", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { member, tests } = yield* setup()
        const experimentId = (yield* seeded)[0]!.id
        yield* emulator.injectFault({
          project: US.id,
          endpoint: "experiments.get",
          kind: "status",
          status: 503,
          times: 3
        })
        const down = yield* call("POST", tests, {
          user: member,
          body: { name: "A", type: "ab_experiment", amplitudeExperimentId: experimentId }
        })
        expectError(down, 502, "AmplitudeUnavailable")
        yield* emulator.injectFault({ project: US.id, endpoint: "experiments.get", kind: "status", status: 429 })
        const limited = yield* call("POST", tests, {
          user: member,
          body: { name: "A", type: "ab_experiment", amplitudeExperimentId: experimentId }
        })
        expectError(limited, 429, "RateLimited")
        assert.isString(limited.headers["retry-after"])
        yield* emulator.clearFaults
      }))

    it.effect("rejects a revoked management key; the picker pages past 1,000 and leaves archived out unless asked", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, integration, member, workspaceId } = yield* setup({ managementKey: false })
        const revokedKey = `ampex_revoked${randomUUID().replaceAll("-", "")}`
        yield* emulator.createProject({
          id: `revoked-${randomUUID()}`,
          managementKeys: [{ key: revokedKey, revoked: true }],
          data: { users: 3, days: 2, experiments: 2 }
        })
        const revoked = yield* call("PUT", `${integration}/management-key`, {
          user: admin,
          body: { managementKey: revokedKey }
        })
        expectError(revoked, 422, "InvalidCredentials")
        assert.notInclude(revoked.text, revokedKey)
        assert.isNull((yield* call("GET", integration, { user: member })).body.managementKeyPrefix)

        yield* call("PUT", `${integration}/management-key`, {
          user: admin,
          body: { managementKey: US.managementKeys[0] }
        })
        const experiments = yield* seeded
        const picker = `/v1/workspaces/${workspaceId}/amplitude/experiments`
        yield* emulator.setSwitches({ experimentsLastPageCursor: "absent" })
        const active = yield* call("GET", picker, { user: member }).pipe(
          Effect.ensuring(emulator.setSwitches({ experimentsLastPageCursor: "null" }))
        )
        assert.strictEqual(active.body.available, true)
        assert.deepStrictEqual(
          active.body.experiments.map((e: { id: string }) => e.id),
          experiments.filter((e) => !e.archived).map((e) => e.id)
        )
        const all = yield* call("GET", `${picker}?includeArchived=true`, { user: member })
        assert.strictEqual(all.body.experiments.length, experiments.length)
        assert.isAbove(all.body.experiments.length, 1000)
        const archivedIds = new Set(experiments.filter((e) => e.archived).map((e) => e.id))
        assert.isTrue(
          all.body.experiments.every((e: { id: string; state: string }) =>
            archivedIds.has(e.id) === (e.state === "archived")
          )
        )
        assert.strictEqual((yield* call("GET", `${picker}?includeArchived=maybe`, { user: member })).status, 400)
      }))

    it.effect("shows the nightly sync's refresh on the test and the workspace's last run", () =>
      Effect.gen(function*() {
        const { member, test, tests, workspaceId } = yield* setup()
        const experiment = (yield* seeded).find((e) => e.decision !== null)!
        const sync = `/v1/workspaces/${workspaceId}/amplitude/experiment-sync`
        assert.deepStrictEqual((yield* call("GET", sync, { user: member })).body, { lastRun: null })
        const created = yield* call("POST", tests, {
          user: member,
          body: { name: "Decided", type: "ab_experiment", amplitudeExperimentId: experiment.id }
        })
        const sql = yield* SqlClient.SqlClient
        yield* sql`
          UPDATE experiment_snapshots SET state = 'planning', decision = NULL, synced_at = now() - interval '1 day'
          WHERE test_id = ${created.body.id}`.pipe(Effect.orDie)
        const stale = (yield* call("GET", test(created.body.id), { user: member })).body.amplitudeExperiment
        assert.strictEqual(stale.state, "planning")

        const outcome = yield* syncNow(workspaceId, "2026-11-28")
        assert.deepInclude(outcome, { status: "succeeded", testsTotal: 1, testsSynced: 1 })
        const fresh = (yield* call("GET", test(created.body.id), { user: member })).body.amplitudeExperiment
        expectLinked(fresh, experiment)
        assert.isAbove(Date.parse(fresh.syncedAt), Date.parse(stale.syncedAt))
        const run = (yield* call("GET", sync, { user: member })).body.lastRun
        assert.deepInclude(run, { date: "2026-11-28", status: "succeeded", testsTotal: 1, testsSynced: 1 })
      }))
  })
})
