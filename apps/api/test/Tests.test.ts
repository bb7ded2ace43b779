import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { amplitudeTestClient, testKeyring } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, DEMO_PROJECTS, type Experiment } from "@findry/amplitude-emulator"
import type { WorkspaceId } from "@findry/domain"
import { type LinkedExperiment, TestId } from "@findry/domain"
import { ExperimentSync, ExperimentSyncSettings } from "@findry/experiment-sync"
import { Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { amplitudeKeys, answered, clientAs, expectFailure, workspaceWithMember } from "./support/Client.js"
import { call } from "./support/Http.js"
import { API_TEST_KEYS, ApiTestLive } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us
const usKeys = amplitudeKeys(US)
const managementKey = (key: string) => ({ managementKey: Redacted.make(key) })

/** A tagged error of the contract, with the message it must carry. */
const expectError = (error: { readonly _tag: string; readonly message?: string }, tag: string) => {
  assert.strictEqual(error._tag, tag, JSON.stringify(error))
  assert.isString(error.message)
}

/** A connected workspace (management key optional) with an admin, a member and one project. */
const setup = (options: { readonly connect?: boolean; readonly managementKey?: boolean } = {}) =>
  Effect.gen(function*() {
    const { admin, member, memberId, path, workspaceId } = yield* workspaceWithMember
    const project = yield* admin.workspaces.createProject({ path, payload: { name: "Checkout" } })
    if (options.connect !== false) {
      yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
      if (options.managementKey !== false) {
        yield* admin.amplitudeConnection.setManagementKey({ path, payload: managementKey(US.managementKeys[0]!) })
      }
    }
    return {
      admin,
      member,
      memberId,
      workspaceId,
      projectId: project.id,
      path,
      tests: { workspaceId, projectId: project.id },
      test: (testId: TestId) => ({ workspaceId, testId })
    }
  })

const seeded = Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator
  return (yield* emulator.project(US.id)).data.experiments
})

const expectLinked = (linked: LinkedExperiment | null, experiment: Experiment) => {
  assert.isNotNull(linked)
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
    linked!.variants.map(({ key, name }) => name === undefined ? { key } : { key, name }),
    experiment.variants.map((variant) => variant.name === undefined ? { key: variant.key } : variant)
      .map(({ key, name }) => name === undefined ? { key } : { key, name })
  )
  assert.instanceOf(linked!.syncedAt, Date)
}

const testCount = (workspaceId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM tests WHERE workspace_id = ${workspaceId}`
    return rows[0]!.n
  }).pipe(Effect.orDie)

/** Runs tonight's sync of one workspace in-process, the way the nightly workflow's waves do. */
const syncNow = (workspaceId: WorkspaceId, date: string) =>
  Effect.gen(function*() {
    // The keyring of `ApiTestLive`, so that the sync opens what the API sealed.
    const amplitude = amplitudeTestClient(AmplitudeEmulator, { timeout: "1500 millis" }).pipe(
      Layer.provide(testKeyring(API_TEST_KEYS))
    )
    const sync = ExperimentSync.Default.pipe(Layer.provide([amplitude, ExperimentSyncSettings.Default]))
    return yield* Effect.flatMap(
      ExperimentSync,
      (service) => service.syncWorkspace(workspaceId, date)
    )
      .pipe(Effect.provide(sync))
  })

describe("tests linked to Amplitude experiments", () => {
  layer(ApiTestLive(), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("creates tests with and without a linked experiment, validated in Amplitude", () =>
      Effect.gen(function*() {
        const { member, memberId, test, tests, workspaceId } = yield* setup()
        const experiments = yield* seeded
        const running = experiments.find((e) => e.state === "running" && !e.archived)!

        // Untrimmed input, which the typed client would refuse to send: raw.
        const plain = yield* call("POST", `/v1/workspaces/${workspaceId}/projects/${tests.projectId}/tests`, {
          user: memberId,
          body: { name: " Pricing copy ", type: "other" }
        })
        assert.strictEqual(plain.status, 201, plain.text)
        assert.deepInclude(plain.body, { name: "Pricing copy", type: "other", amplitudeExperiment: null })

        const linked = yield* member.tests.create({
          path: tests,
          payload: { name: "Checkout CTA", type: "ab_experiment", amplitudeExperimentId: running.id }
        })
        expectLinked(linked.amplitudeExperiment, running)

        const read = yield* member.tests.get({ path: test(linked.id) })
        assert.deepStrictEqual(read, linked)
        const listed = yield* member.tests.list({ path: tests })
        assert.deepStrictEqual(listed.tests.map((t) => t.id), [plain.body.id, linked.id])

        const unlinkedAb = yield* member.tests.create({
          path: tests,
          payload: { name: "Later", type: "ab_experiment" }
        })
        assert.isNull(unlinkedAb.amplitudeExperiment)
        assert.strictEqual(yield* testCount(workspaceId), 3)
      }))

    it.effect("rejects an unknown experiment, a missing key and a missing connection with typed 4xx errors", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const full = yield* setup()
        const before = (yield* emulator.requests({ host: "experimentUs" })).length
        const unknown = yield* Effect.flip(full.member.tests.create({
          path: full.tests,
          payload: { name: "Ghost", type: "ab_experiment", amplitudeExperimentId: "999999999" }
        }))
        expectError(unknown, "ExperimentNotFound")
        assert.strictEqual(unknown._tag === "ExperimentNotFound" && unknown.experimentId, "999999999")
        assert.strictEqual((yield* emulator.requests({ host: "experimentUs" })).length, before + 1)

        const noKey = yield* setup({ managementKey: false })
        const experimentId = (yield* seeded)[0]!.id
        expectError(
          yield* Effect.flip(noKey.member.tests.create({
            path: noKey.tests,
            payload: { name: "A", type: "ab_experiment", amplitudeExperimentId: experimentId }
          })),
          "ManagementKeyRequired"
        )
        const notConnected = yield* setup({ connect: false })
        expectError(
          yield* Effect.flip(notConnected.member.tests.create({
            path: notConnected.tests,
            payload: { name: "A", type: "ab_experiment", amplitudeExperimentId: experimentId }
          })),
          "NotConnected"
        )
        for (const workspace of [full, noKey, notConnected]) {
          assert.strictEqual(yield* testCount(workspace.workspaceId), 0)
        }
      }))

    // Malformed requests the typed client refuses to send: raw, except the well-formed link of a non-A/B test.
    it.effect("answers 400 to bad input and changes nothing", () =>
      Effect.gen(function*() {
        const { member, memberId, projectId, test, tests, workspaceId } = yield* setup()
        const testsUrl = `/v1/workspaces/${workspaceId}/projects/${projectId}/tests`
        const experimentId = (yield* seeded)[0]!.id
        const bad = [
          {},
          { name: "", type: "other" },
          { name: "x".repeat(201), type: "other" },
          { name: "Tab\tname", type: "other" },
          { name: "A", type: "usability" },
          { name: "A", type: "ab_experiment", amplitudeExperimentId: "" },
          { name: "A", type: "ab_experiment", amplitudeExperimentId: "../../admin" },
          { name: "A", type: "ab_experiment", amplitudeExperimentId: 42 }
        ]
        for (const body of bad) {
          const answer = yield* call("POST", testsUrl, { user: memberId, body })
          assert.strictEqual(answer.status, 400, `${JSON.stringify(body)} → ${answer.text}`)
        }
        expectError(
          yield* Effect.flip(member.tests.create({
            path: tests,
            payload: { name: "A", type: "other", amplitudeExperimentId: experimentId }
          })),
          "ValidationError"
        )
        const other = yield* member.tests.create({ path: tests, payload: { name: "Survey", type: "other" } })
        expectError(
          yield* Effect.flip(member.tests.linkExperiment({ path: test(other.id), payload: { experimentId } })),
          "ValidationError"
        )
        const linkUrl = `/v1/workspaces/${workspaceId}/tests/${other.id}/amplitude-experiment`
        assert.strictEqual((yield* call("PUT", linkUrl, { user: memberId, body: { experimentId: "a b" } })).status, 400)
        assert.strictEqual((yield* call("PUT", linkUrl, { user: memberId, body: {} })).status, 400)
        assert.strictEqual(
          (yield* call("GET", `/v1/workspaces/${workspaceId}/tests/not-a-uuid`, { user: memberId })).status,
          400
        )
        assert.strictEqual(
          (yield* call("POST", `${testsUrl.replace(projectId, `${projectId}x`)}`, {
            user: memberId,
            body: { name: "A", type: "other" }
          })).status,
          400
        )
        assert.strictEqual(yield* testCount(workspaceId), 1)
        assert.isNull((yield* member.tests.get({ path: test(other.id) })).amplitudeExperiment)
      }))

    it.effect("links and re-links a test; archived experiments show as archived", () =>
      Effect.gen(function*() {
        const { member, test, tests } = yield* setup()
        const experiments = yield* seeded
        const [first, second] = experiments.filter((e) => !e.archived)
        const archived = experiments.find((e) => e.archived)!
        const created = yield* member.tests.create({ path: tests, payload: { name: "Hero", type: "ab_experiment" } })
        const link = (experimentId: string) =>
          member.tests.linkExperiment({ path: test(created.id), payload: { experimentId } })

        expectLinked((yield* link(first!.id)).amplitudeExperiment, first!)
        expectLinked((yield* link(second!.id)).amplitudeExperiment, second!)
        const toArchived = yield* link(archived.id)
        expectLinked(toArchived.amplitudeExperiment, archived)
        assert.strictEqual(toArchived.amplitudeExperiment?.state, "archived")

        expectError(yield* Effect.flip(link("123")), "ExperimentNotFound")
        assert.strictEqual((yield* member.tests.get({ path: test(created.id) })).amplitudeExperiment?.id, archived.id)
      }))

    it.effect("keeps tests private to their workspace", () =>
      Effect.gen(function*() {
        const mine = yield* setup()
        const theirs = yield* setup({ connect: false })
        const created = yield* mine.member.tests.create({ path: mine.tests, payload: { name: "A", type: "other" } })
        expectError(yield* Effect.flip(theirs.member.tests.get({ path: mine.test(created.id) })), "NotFound")
        expectError(yield* Effect.flip(theirs.member.tests.get({ path: theirs.test(created.id) })), "NotFound")
        expectError(
          yield* Effect.flip(mine.member.tests.create({
            path: { workspaceId: mine.workspaceId, projectId: theirs.projectId },
            payload: { name: "A", type: "other" }
          })),
          "NotFound"
        )
        expectError(
          yield* Effect.flip(mine.member.tests.linkExperiment({
            path: mine.test(TestId.make(randomUUID())),
            payload: { experimentId: "1" }
          })),
          "NotFound"
        )
        const anonymous = yield* clientAs(null)
        expectError(yield* Effect.flip(anonymous.tests.list({ path: mine.tests })), "Unauthorized")
      }))

    it.effect("reports Amplitude trouble while linking as a typed error, not a 500", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { memberId, projectId, workspaceId } = yield* setup()
        const experimentId = (yield* seeded)[0]!.id
        yield* emulator.injectFault({
          project: US.id,
          endpoint: "experiments.get",
          kind: "status",
          status: 503,
          times: 3
        })
        const member = yield* clientAs(memberId)
        const create = member.tests.create({
          path: { workspaceId, projectId },
          payload: { name: "A", type: "ab_experiment", amplitudeExperimentId: experimentId }
        })
        expectError(yield* Effect.flip(create), "AmplitudeUnavailable")
        yield* emulator.injectFault({ project: US.id, endpoint: "experiments.get", kind: "status", status: 429 })
        const limited = yield* answered(create)
        expectFailure(limited, "RateLimited", 429)
        assert.isString(limited.headers["retry-after"])
        yield* emulator.clearFaults
      }))

    it.effect("rejects a revoked management key; the picker pages past 1,000 and leaves archived out unless asked", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, member, memberId, path, workspaceId } = yield* setup({ managementKey: false })
        const revokedKey = `ampex_revoked${randomUUID().replaceAll("-", "")}`
        yield* emulator.createProject({
          id: `revoked-${randomUUID()}`,
          managementKeys: [{ key: revokedKey, revoked: true }],
          data: { users: 3, days: 2, experiments: 2 }
        })
        const revoked = yield* Effect.flip(
          admin.amplitudeConnection.setManagementKey({ path, payload: managementKey(revokedKey) })
        )
        expectError(revoked, "InvalidCredentials")
        assert.notInclude(JSON.stringify(revoked), revokedKey)
        assert.isNull((yield* member.amplitudeConnection.get({ path })).managementKeyPrefix)

        yield* admin.amplitudeConnection.setManagementKey({ path, payload: managementKey(US.managementKeys[0]!) })
        const experiments = yield* seeded
        yield* emulator.setSwitches({ experimentsLastPageCursor: "absent" })
        const active = yield* member.amplitudeConnection.experiments({ path, urlParams: {} }).pipe(
          Effect.ensuring(emulator.setSwitches({ experimentsLastPageCursor: "null" }))
        )
        assert.strictEqual(active.available, true)
        assert.deepStrictEqual(
          active.experiments.map((e) => e.id),
          experiments.filter((e) => !e.archived).map((e) => e.id)
        )
        const all = yield* member.amplitudeConnection.experiments({ path, urlParams: { includeArchived: true } })
        assert.strictEqual(all.experiments.length, experiments.length)
        assert.isAbove(all.experiments.length, 1000)
        const archivedIds = new Set(experiments.filter((e) => e.archived).map((e) => e.id))
        assert.isTrue(all.experiments.every((e) => archivedIds.has(e.id) === (e.state === "archived")))
        // Not a boolean: the typed client cannot send it.
        const maybe = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/experiments?includeArchived=maybe`, {
          user: memberId
        })
        assert.strictEqual(maybe.status, 400)
      }))

    it.effect("shows the nightly sync's refresh on the test and the workspace's last run", () =>
      Effect.gen(function*() {
        const { member, path, test, tests, workspaceId } = yield* setup()
        const experiment = (yield* seeded).find((e) => e.decision !== null)!
        assert.deepStrictEqual({ ...(yield* member.tests.experimentSync({ path })) }, { lastRun: null })
        const created = yield* member.tests.create({
          path: tests,
          payload: { name: "Decided", type: "ab_experiment", amplitudeExperimentId: experiment.id }
        })
        const sql = yield* SqlClient.SqlClient
        yield* sql`
          UPDATE experiment_snapshots SET state = 'planning', decision = NULL, synced_at = now() - interval '1 day'
          WHERE test_id = ${created.id}`.pipe(Effect.orDie)
        const stale = (yield* member.tests.get({ path: test(created.id) })).amplitudeExperiment!
        assert.strictEqual(stale.state, "planning")

        const outcome = yield* syncNow(workspaceId, "2026-11-28")
        assert.deepInclude(outcome, { status: "succeeded", testsTotal: 1, testsSynced: 1 })
        const fresh = (yield* member.tests.get({ path: test(created.id) })).amplitudeExperiment
        expectLinked(fresh, experiment)
        assert.isAbove(fresh!.syncedAt.getTime(), stale.syncedAt.getTime())
        const run = (yield* member.tests.experimentSync({ path })).lastRun
        assert.deepInclude(run, { date: "2026-11-28", status: "succeeded", testsTotal: 1, testsSynced: 1 })
      }))
  })
})
