import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import { type Answer, call, workspaceOf } from "./support/Http.js"
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
  })
})
