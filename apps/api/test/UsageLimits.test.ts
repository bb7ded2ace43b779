import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import type { WorkspaceId } from "@findry/domain"
import { Effect, Redacted } from "effect"
import {
  amplitudeKeys,
  type Answered,
  answered,
  clientAs,
  expectFailure,
  expectSuccess,
  putMapping,
  workspaceOf
} from "./support/Client.js"
import { ApiTestLive, freshUser, startReplica } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us

/** Small budgets where the product's defaults would make a test long; the validation limit is the default. */
const limits = {
  FINDRY_VALIDATIONS_PER_USER_PER_HOUR: "8",
  FINDRY_AMPLITUDE_CALLS_PER_WORKSPACE_PER_MINUTE: "4"
}

const usKeys = amplitudeKeys(US)
const wrongKeys = { ...usKeys, secretKey: Redacted.make("wrong-secret-0000000000000000000") }
const managementKey = { managementKey: Redacted.make(US.managementKeys[0]!) }

/** Every validation starts with the Taxonomy API's category list. */
const validationsSeen = Effect.flatMap(
  AmplitudeEmulator,
  (emulator) => emulator.requests({ endpoint: "taxonomy.category.list" })
).pipe(Effect.map((requests) => requests.length))

const requestsTo = (endpoint: string) =>
  Effect.flatMap(AmplitudeEmulator, (emulator) => emulator.requests({ project: US.id, endpoint })).pipe(
    Effect.map((requests) => requests.length)
  )

/** A connected workspace with an admin and two members. */
const connectedWorkspace = Effect.gen(function*() {
  const admin = freshUser("admin")
  const members = [freshUser("member"), freshUser("member")] as const
  const workspaceId = yield* workspaceOf(admin)
  const path = { workspaceId }
  const [asAdmin, asAda, asBob] = yield* Effect.all([clientAs(admin), clientAs(members[0]), clientAs(members[1])])
  for (const member of members) {
    yield* asAdmin.workspaces.setMember({ path: { workspaceId, userId: member }, payload: { role: "member" } })
  }
  yield* asAdmin.amplitudeConnection.connect({ path, payload: usKeys })
  return { admin: asAdmin, members: [asAda, asBob] as const, workspaceId, path }
})

/** Asserts a 429 `RateLimited` whose `Retry-After` header equals its `retryAfterSeconds`; yields the error. */
const expectRateLimited = <A, E extends { readonly _tag: string }>(answer: Answered<A, E>, maxSeconds: number) => {
  const limited = expectFailure(answer, "RateLimited" as E["_tag"], 429) as unknown as {
    readonly message: string
    readonly retryAfterSeconds: number
  }
  const retryAfter = Number(answer.headers["retry-after"])
  assert.strictEqual(retryAfter, limited.retryAfterSeconds)
  assert.isAtLeast(retryAfter, 1)
  assert.isAtMost(retryAfter, maxSeconds)
  return limited
}

const statuses = (answers: ReadonlyArray<{ readonly status: number }>) => answers.map((answer) => answer.status).sort()

const resetInspection = Effect.flatMap(AmplitudeEmulator, (emulator) => emulator.resetInspection)

describe("usage limits", () => {
  layer(ApiTestLive({ config: limits }), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("12 parallel wrong-key connects to one workspace: 5 reach Amplitude, the rest are 429", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const path = { workspaceId: yield* workspaceOf(admin) }
        const client = yield* clientAs(admin)
        yield* resetInspection
        const answers = yield* Effect.all(
          Array.from({ length: 12 }, () => answered(client.amplitudeConnection.connect({ path, payload: wrongKeys }))),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(statuses(answers), [...Array(5).fill(422), ...Array(7).fill(429)])
        for (const answer of answers) {
          if (answer.status === 429) expectRateLimited(answer, 60)
          else expectFailure(answer, "InvalidCredentials", 422)
        }
        assert.strictEqual(yield* validationsSeen, 5)
      }))

    it.effect("the same, split over two API replicas on one database", () =>
      Effect.gen(function*() {
        const replica = yield* startReplica({ config: limits })
        const admin = freshUser("admin")
        const path = { workspaceId: yield* workspaceOf(admin) }
        const [client, replicaClient] = yield* Effect.all([clientAs(admin), Effect.provide(clientAs(admin), replica)])
        yield* resetInspection
        const answers = yield* Effect.all(
          Array.from(
            { length: 12 },
            (_, i) =>
              answered((i % 2 === 0 ? client : replicaClient).amplitudeConnection.connect({ path, payload: wrongKeys }))
          ),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(statuses(answers), [...Array(5).fill(422), ...Array(7).fill(429)])
        for (const answer of answers) {
          if (answer.status === 429) expectRateLimited(answer, 60)
          else expectFailure(answer, "InvalidCredentials", 422)
        }
        assert.strictEqual(yield* validationsSeen, 5)
      }).pipe(Effect.scoped))

    it.effect("a user may create 5 workspaces an hour: the 6th of a burst is 429", () =>
      Effect.gen(function*() {
        const client = yield* clientAs(freshUser("creator"))
        const answers = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) => answered(client.workspaces.create({ payload: { name: `W${i}` } }))),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(statuses(answers), [201, 201, 201, 201, 201, 429])
        for (const answer of answers.filter((answer) => answer.status === 201)) expectSuccess(answer, 201)
        const limited = expectRateLimited(answers.find((answer) => answer.status === 429)!, 3600)
        assert.isAbove(limited.retryAfterSeconds, 3500)
        const other = yield* clientAs(freshUser("creator"))
        expectSuccess(yield* answered(other.workspaces.create({ payload: { name: "Mine" } })), 201)
      }))

    it.effect("a user's validations are limited across workspaces", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const client = yield* clientAs(admin)
        const [first, second, third] = [yield* workspaceOf(admin), yield* workspaceOf(admin), yield* workspaceOf(admin)]
        const connect = (workspaceId: WorkspaceId, payload: typeof usKeys) =>
          answered(client.amplitudeConnection.connect({ path: { workspaceId }, payload }))
        yield* resetInspection
        for (const workspaceId of [first, second]) {
          for (let attempt = 0; attempt < 4; attempt++) {
            expectFailure(yield* connect(workspaceId, wrongKeys), "InvalidCredentials", 422)
          }
        }
        const refused = expectRateLimited(yield* connect(third, usKeys), 3600)
        assert.include(refused.message, "in the last hour")
        assert.strictEqual(yield* validationsSeen, 8)
        const otherAdmin = freshUser("admin")
        yield* client.workspaces.setMember({
          path: { workspaceId: third, userId: otherAdmin },
          payload: { role: "admin" }
        })
        const byOther = yield* clientAs(otherAdmin)
        expectSuccess(
          yield* answered(byOther.amplitudeConnection.connect({ path: { workspaceId: third }, payload: usKeys })),
          200
        )
      }))

    it.effect("picker answers are shared by members until a re-key; past the workspace's budget, 429", () =>
      Effect.gen(function*() {
        const { admin, members: [ada, bob], path } = yield* connectedWorkspace
        yield* resetInspection

        /** A member's read of the cohort picker and how many times it called Amplitude for it. */
        const cohorts = (member: typeof ada) =>
          Effect.gen(function*() {
            const before = yield* requestsTo("cohorts.list")
            const answer = yield* answered(member.amplitudeConnection.cohorts({ path }))
            return { answer, calls: (yield* requestsTo("cohorts.list")) - before }
          })

        const first = yield* cohorts(ada)
        const firstCohorts = expectSuccess(first.answer, 200)
        assert.isTrue(firstCohorts.available)
        assert.isAbove(firstCohorts.cohorts.length, 0)
        assert.strictEqual(first.calls, 1)
        const shared = yield* cohorts(bob)
        assert.deepStrictEqual(expectSuccess(shared.answer, 200), firstCohorts)
        assert.strictEqual(shared.calls, 0, "the second read was shared")

        yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        const afterRekey = yield* cohorts(bob)
        assert.deepStrictEqual(expectSuccess(afterRekey.answer, 200), firstCohorts)
        assert.strictEqual(afterRekey.calls, 1, "a re-key is not answered from before it")

        const events = yield* ada.amplitudeConnection.events({ path })
        assert.isTrue(events.available, JSON.stringify(events))
        yield* admin.amplitudeConnection.setManagementKey({ path, payload: managementKey })
        const experiments = yield* bob.amplitudeConnection.experiments({ path, urlParams: {} })
        assert.isTrue(experiments.available, JSON.stringify(experiments))

        const refused = yield* cohorts(ada)
        const limited = expectRateLimited(refused.answer, 60)
        assert.include(limited.message, "This workspace has asked Amplitude for too much")
        assert.strictEqual(refused.calls, 0, "the refused read did not reach Amplitude")
        assert.deepStrictEqual(
          yield* ada.amplitudeConnection.experiments({ path, urlParams: {} }),
          experiments,
          "still shared"
        )
      }))

    it.effect("two concurrent \"Pull metrics\" of one bet make one set of Amplitude calls", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, members: [ada, bob], path, workspaceId } = yield* connectedWorkspace
        const metric = yield* ada.metrics.create({ path, payload: { name: "Buyers", unit: "integer" } })
        yield* putMapping(ada, {
          path: { workspaceId, metricId: metric.id },
          payload: { kind: "event", event: "Purchase", aggregation: "uniques" }
        })
        const project = yield* admin.workspaces.createProject({ path, payload: { name: "Store" } })
        const bet = yield* ada.bets.create({
          path: { workspaceId, projectId: project.id },
          payload: {
            title: "Faster checkout",
            predictedImpact: {
              metricId: metric.id,
              direction: "increase",
              magnitude: 5,
              magnitudeUnit: "percent",
              timeframeDays: 7
            }
          }
        })
        const betPath = { workspaceId, betId: bet.id }
        yield* ada.bets.logOutcome({ path: betPath, payload: { shipDate: "2026-10-15", whatShipped: "One page" } })
        const pull = (member: typeof ada) => answered(member.outcomes.pull({ path: betPath }))

        yield* resetInspection
        expectSuccess(yield* pull(ada), 200)
        const oneSet = yield* requestsTo("events.segmentation")
        assert.isAbove(oneSet, 0)

        yield* resetInspection
        yield* emulator.injectFault({ project: US.id, endpoint: "events.segmentation", kind: "latency", ms: 300 })
        const [first, second] = yield* Effect.all([pull(ada), pull(bob)], { concurrency: "unbounded" }).pipe(
          Effect.ensuring(emulator.clearFaults)
        )
        assert.deepStrictEqual(
          expectSuccess(second, 200),
          expectSuccess(first, 200),
          "the second pull joined the first"
        )
        assert.strictEqual(yield* requestsTo("events.segmentation"), oneSet)

        expectSuccess(yield* pull(bob), 200)
        expectSuccess(yield* pull(bob), 200)
        expectRateLimited(yield* pull(ada), 60)
        assert.strictEqual(yield* requestsTo("events.segmentation"), 3 * oneSet, "the refused pull called nothing")
      }))

    it.effect("linking tests to Amplitude experiments counts in the workspace's budget", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, members: [ada], path, workspaceId } = yield* connectedWorkspace
        yield* admin.amplitudeConnection.setManagementKey({ path, payload: managementKey })
        const project = yield* admin.workspaces.createProject({ path, payload: { name: "Store" } })
        const created = yield* ada.tests.create({
          path: { workspaceId, projectId: project.id },
          payload: { name: "Checkout A/B", type: "ab_experiment" }
        })
        const [experiment] = (yield* emulator.project(US.id)).data.experiments
        const link = answered(ada.tests.linkExperiment({
          path: { workspaceId, testId: created.id },
          payload: { experimentId: experiment!.id }
        }))
        for (let use = 0; use < 4; use++) expectSuccess(yield* link, 200)
        const before = yield* requestsTo("experiments.get")
        expectRateLimited(yield* link, 60)
        assert.strictEqual(yield* requestsTo("experiments.get"), before, "the refused link called nothing")
      }))
  })
})
