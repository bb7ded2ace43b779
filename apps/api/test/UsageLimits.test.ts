import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import { workspaceOf } from "./support/Client.js"
import { type Answer, call } from "./support/Http.js"
import { ApiTestLive, freshUser, startReplica } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us

/** Small budgets where the product's defaults would make a test long; the validation limit is the default. */
const limits = {
  FINDRY_VALIDATIONS_PER_USER_PER_HOUR: "8",
  FINDRY_AMPLITUDE_CALLS_PER_WORKSPACE_PER_MINUTE: "4"
}

const usKeys = { region: "us", apiKey: US.apiKey, secretKey: US.secretKey }
const wrongKeys = { ...usKeys, secretKey: "wrong-secret-0000000000000000000" }
const connection = (workspaceId: string) => `/v1/workspaces/${workspaceId}/integrations/amplitude`

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
  for (const member of members) {
    yield* call("PUT", `/v1/workspaces/${workspaceId}/members/${member}`, { user: admin, body: { role: "member" } })
  }
  const connected = yield* call("PUT", connection(workspaceId), { user: admin, body: usKeys })
  assert.strictEqual(connected.status, 200, connected.text)
  return { admin, members, workspaceId }
})

const expectRateLimited = (answer: Answer, maxSeconds: number) => {
  assert.strictEqual(answer.status, 429, answer.text)
  assert.strictEqual(answer.body._tag, "RateLimited")
  assert.isString(answer.body.message)
  const retryAfter = Number(answer.headers["retry-after"])
  assert.strictEqual(retryAfter, answer.body.retryAfterSeconds)
  assert.isAtLeast(retryAfter, 1)
  assert.isAtMost(retryAfter, maxSeconds)
}

const statuses = (answers: ReadonlyArray<Answer>) => answers.map((answer) => answer.status).sort()

const resetInspection = Effect.flatMap(AmplitudeEmulator, (emulator) => emulator.resetInspection)

describe("usage limits", () => {
  layer(ApiTestLive({ config: limits }), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("12 parallel wrong-key connects to one workspace: 5 reach Amplitude, the rest are 429", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const path = connection(yield* workspaceOf(admin))
        yield* resetInspection
        const answers = yield* Effect.all(
          Array.from({ length: 12 }, () => call("PUT", path, { user: admin, body: wrongKeys })),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(statuses(answers), [...Array(5).fill(422), ...Array(7).fill(429)])
        for (const answer of answers.filter((answer) => answer.status === 429)) expectRateLimited(answer, 60)
        assert.strictEqual(yield* validationsSeen, 5)
      }))

    it.effect("the same, split over two API replicas on one database", () =>
      Effect.gen(function*() {
        const replica = yield* startReplica({ config: limits })
        const admin = freshUser("admin")
        const path = connection(yield* workspaceOf(admin))
        yield* resetInspection
        const connect = call("PUT", path, { user: admin, body: wrongKeys })
        const answers = yield* Effect.all(
          Array.from({ length: 12 }, (_, i) => i % 2 === 0 ? connect : Effect.provide(connect, replica)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(statuses(answers), [...Array(5).fill(422), ...Array(7).fill(429)])
        for (const answer of answers.filter((answer) => answer.status === 429)) expectRateLimited(answer, 60)
        assert.strictEqual(yield* validationsSeen, 5)
      }).pipe(Effect.scoped))

    it.effect("a user may create 5 workspaces an hour: the 6th of a burst is 429", () =>
      Effect.gen(function*() {
        const user = freshUser("creator")
        const answers = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) => call("POST", "/v1/workspaces", { user, body: { name: `W${i}` } })),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(statuses(answers), [201, 201, 201, 201, 201, 429])
        expectRateLimited(answers.find((answer) => answer.status === 429)!, 3600)
        assert.isAbove(answers.find((answer) => answer.status === 429)!.body.retryAfterSeconds, 3500)
        const other = yield* call("POST", "/v1/workspaces", { user: freshUser("creator"), body: { name: "Mine" } })
        assert.strictEqual(other.status, 201, "another user is not limited")
      }))

    it.effect("a user's validations are limited across workspaces", () =>
      Effect.gen(function*() {
        const admin = freshUser("admin")
        const [first, second, third] = [yield* workspaceOf(admin), yield* workspaceOf(admin), yield* workspaceOf(admin)]
        yield* resetInspection
        for (const workspaceId of [first, second]) {
          for (let attempt = 0; attempt < 4; attempt++) {
            const answer = yield* call("PUT", connection(workspaceId), { user: admin, body: wrongKeys })
            assert.strictEqual(answer.status, 422, answer.text)
          }
        }
        const refused = yield* call("PUT", connection(third), { user: admin, body: usKeys })
        expectRateLimited(refused, 3600)
        assert.include(refused.body.message, "in the last hour")
        assert.strictEqual(yield* validationsSeen, 8)
        const otherAdmin = freshUser("admin")
        yield* call("PUT", `/v1/workspaces/${third}/members/${otherAdmin}`, { user: admin, body: { role: "admin" } })
        const byOther = yield* call("PUT", connection(third), { user: otherAdmin, body: usKeys })
        assert.strictEqual(byOther.status, 200, "another admin of the workspace is not limited")
      }))

    it.effect("picker answers are shared by members until a re-key; past the workspace's budget, 429", () =>
      Effect.gen(function*() {
        const { admin, members: [ada, bob], workspaceId } = yield* connectedWorkspace
        const picker = (name: string, user: string) =>
          call("GET", `/v1/workspaces/${workspaceId}/amplitude/${name}`, { user })
        yield* resetInspection

        /** A member's read of the cohort picker and how many times it called Amplitude for it. */
        const cohorts = (user: string) =>
          Effect.gen(function*() {
            const before = yield* requestsTo("cohorts.list")
            const answer = yield* picker("cohorts", user)
            return { answer, calls: (yield* requestsTo("cohorts.list")) - before }
          })

        const first = yield* cohorts(ada)
        assert.strictEqual(first.answer.status, 200, first.answer.text)
        assert.isTrue(first.answer.body.available)
        assert.isAbove(first.answer.body.cohorts.length, 0)
        assert.strictEqual(first.calls, 1)
        const shared = yield* cohorts(bob)
        assert.deepStrictEqual(shared.answer.body, first.answer.body)
        assert.strictEqual(shared.calls, 0, "the second read was shared")

        assert.strictEqual((yield* call("PUT", connection(workspaceId), { user: admin, body: usKeys })).status, 200)
        const afterRekey = yield* cohorts(bob)
        assert.deepStrictEqual(afterRekey.answer.body, first.answer.body)
        assert.strictEqual(afterRekey.calls, 1, "a re-key is not answered from before it")

        const events = yield* picker("events", ada)
        assert.isTrue(events.body.available, events.text)
        const managementKey = { managementKey: US.managementKeys[0] }
        const keySet = yield* call("PUT", `${connection(workspaceId)}/management-key`, {
          user: admin,
          body: managementKey
        })
        assert.strictEqual(keySet.status, 200, keySet.text)
        const experiments = yield* picker("experiments", bob)
        assert.isTrue(experiments.body.available, experiments.text)

        const refused = yield* cohorts(ada)
        expectRateLimited(refused.answer, 60)
        assert.include(refused.answer.body.message, "This workspace has asked Amplitude for too much")
        assert.strictEqual(refused.calls, 0, "the refused read did not reach Amplitude")
        assert.deepStrictEqual((yield* picker("experiments", ada)).body, experiments.body, "still shared")
      }))

    it.effect("two concurrent \"Pull metrics\" of one bet make one set of Amplitude calls", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, members: [ada, bob], workspaceId } = yield* connectedWorkspace
        const workspace = `/v1/workspaces/${workspaceId}`
        const metric = yield* call("POST", `${workspace}/metrics`, {
          user: ada,
          body: { name: "Buyers", unit: "integer" }
        })
        yield* call("PUT", `${workspace}/metrics/${metric.body.id}/amplitude-mapping`, {
          user: ada,
          body: { kind: "event", event: "Purchase", aggregation: "uniques" }
        })
        const project = yield* call("POST", `${workspace}/projects`, { user: admin, body: { name: "Store" } })
        const bet = yield* call("POST", `${workspace}/projects/${project.body.id}/bets`, {
          user: ada,
          body: {
            title: "Faster checkout",
            predictedImpact: {
              metricId: metric.body.id,
              direction: "increase",
              magnitude: 5,
              magnitudeUnit: "percent",
              timeframeDays: 7
            }
          }
        })
        assert.strictEqual(bet.status, 201, bet.text)
        const betPath = `${workspace}/bets/${bet.body.id}`
        yield* call("PUT", `${betPath}/outcome`, {
          user: ada,
          body: { shipDate: "2026-10-15", whatShipped: "One page" }
        })
        const pull = (user: string) => call("POST", `${betPath}/outcome/pull`, { user })

        yield* resetInspection
        assert.strictEqual((yield* pull(ada)).status, 200)
        const oneSet = yield* requestsTo("events.segmentation")
        assert.isAbove(oneSet, 0)

        yield* resetInspection
        yield* emulator.injectFault({ project: US.id, endpoint: "events.segmentation", kind: "latency", ms: 300 })
        const [first, second] = yield* Effect.all([pull(ada), pull(bob)], { concurrency: "unbounded" }).pipe(
          Effect.ensuring(emulator.clearFaults)
        )
        assert.strictEqual(first.status, 200, first.text)
        assert.deepStrictEqual(second.body, first.body, "the second pull joined the first")
        assert.strictEqual(yield* requestsTo("events.segmentation"), oneSet)

        assert.strictEqual((yield* pull(bob)).status, 200)
        assert.strictEqual((yield* pull(bob)).status, 200)
        expectRateLimited(yield* pull(ada), 60)
        assert.strictEqual(yield* requestsTo("events.segmentation"), 3 * oneSet, "the refused pull called nothing")
      }))

    it.effect("linking tests to Amplitude experiments counts in the workspace's budget", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, members: [ada], workspaceId } = yield* connectedWorkspace
        const workspace = `/v1/workspaces/${workspaceId}`
        const managementKey = { managementKey: US.managementKeys[0] }
        yield* call("PUT", `${connection(workspaceId)}/management-key`, { user: admin, body: managementKey })
        const project = yield* call("POST", `${workspace}/projects`, { user: admin, body: { name: "Store" } })
        const created = yield* call("POST", `${workspace}/projects/${project.body.id}/tests`, {
          user: ada,
          body: { name: "Checkout A/B", type: "ab_experiment" }
        })
        assert.strictEqual(created.status, 201, created.text)
        const [experiment] = (yield* emulator.project(US.id)).data.experiments
        const link = call("PUT", `${workspace}/tests/${created.body.id}/amplitude-experiment`, {
          user: ada,
          body: { experimentId: experiment!.id }
        })
        for (let use = 0; use < 4; use++) assert.strictEqual((yield* link).status, 200)
        const before = yield* requestsTo("experiments.get")
        expectRateLimited(yield* link, 60)
        assert.strictEqual(yield* requestsTo("experiments.get"), before, "the refused link called nothing")
      }))
  })
})
