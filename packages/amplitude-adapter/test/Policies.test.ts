import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, type Project } from "@findry/amplitude-emulator"
import { Duration, Effect } from "effect"
import { AmplitudeClient, CallPolicy } from "../src/index.js"
import { freshProject, storedConnection, TEST_TIMEOUT, TestLive, timed, withFaults } from "./helpers.js"

/** The background preset with short waits, so the tests stay quick. */
const quickBackground = CallPolicy.make(CallPolicy.background, {
  name: "background-test",
  transientBaseDelay: Duration.millis(20),
  rateLimitBaseDelay: Duration.millis(50),
  maxRetryAfter: Duration.seconds(2)
})

const connect = (project: Project, policy: CallPolicy) =>
  Effect.gen(function*() {
    const client = yield* AmplitudeClient
    return client.connection(yield* storedConnection(project), { policy })
  })

const statusesOf = (project: Project, endpoint: string) =>
  Effect.flatMap(
    AmplitudeEmulator,
    (emulator) =>
      Effect.map(emulator.requests({ project: project.id, endpoint }), (requests) => requests.map((r) => r.status))
  )

layer(TestLive, { excludeTestServices: true })("call policies", (it) => {
  describe("429", () => {
    it.effect("interactive fails at once with RateLimited (60 s without Retry-After)", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, CallPolicy.interactive)
        yield* emulator.injectFault({ kind: "status", status: 429, project: project.id, endpoint: "cohorts.list" })
        const error = yield* Effect.flip(amplitude.listCohorts())
        assert.strictEqual(error._tag, "RateLimited")
        if (error._tag !== "RateLimited") return
        assert.strictEqual(error.retryAfterSeconds, 60)
        assert.strictEqual(error.message, "Amplitude rate-limited the request (429). Wait 60 seconds and retry.")
        assert.deepStrictEqual(yield* statusesOf(project, "cohorts.list"), [429])
      }).pipe(withFaults))

    it.effect("background backs off and retries when there is no Retry-After", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, quickBackground)
        yield* emulator.injectFault({
          kind: "status",
          status: 429,
          project: project.id,
          endpoint: "cohorts.list",
          times: 2
        })
        const cohorts = yield* amplitude.listCohorts()
        assert.strictEqual(cohorts.length, project.data.cohorts.length)
        assert.deepStrictEqual(yield* statusesOf(project, "cohorts.list"), [429, 429, 200])
      }).pipe(withFaults))

    it.effect("background waits for Retry-After before retrying", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, quickBackground)
        yield* emulator.injectFault({
          kind: "status",
          status: 429,
          retryAfterSeconds: 1,
          project: project.id,
          endpoint: "events.list"
        })
        const { ms, result } = yield* timed(amplitude.listEvents())
        assert.isAbove(result.length, 0)
        assert.isAtLeast(ms, 1000)
        const [first, second] = yield* emulator.requests({ project: project.id, endpoint: "events.list" })
        assert.isAtLeast(second!.at - first!.at, 1000)
      }).pipe(withFaults))

    it.effect("background does not wait for a Retry-After beyond its bound", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, quickBackground)
        yield* emulator.injectFault({
          kind: "status",
          status: 429,
          retryAfterSeconds: 120,
          project: project.id,
          endpoint: "events.list"
        })
        const error = yield* Effect.flip(amplitude.listEvents())
        assert.strictEqual(error._tag, "RateLimited")
        if (error._tag === "RateLimited") assert.strictEqual(error.retryAfterSeconds, 120)
      }).pipe(withFaults))

    it.effect("background gives up after its retries with RateLimited", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, CallPolicy.make(quickBackground, { rateLimitRetries: 2 }))
        yield* emulator.injectFault({
          kind: "status",
          status: 429,
          project: project.id,
          endpoint: "events.list",
          times: 10
        })
        const error = yield* Effect.flip(amplitude.listEvents())
        assert.strictEqual(error._tag, "RateLimited")
        assert.deepStrictEqual(yield* statusesOf(project, "events.list"), [429, 429, 429])
      }).pipe(withFaults))

    it.effect("an annotation create refused with 429 is retried by background calls (nothing was created)", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, quickBackground)
        yield* emulator.injectFault({
          kind: "status",
          status: 429,
          retryAfterSeconds: 0,
          project: project.id,
          endpoint: "annotations.create"
        })
        const created = yield* amplitude.createAnnotation({ label: "after a 429", start: new Date() })
        assert.strictEqual(created.label, "after a 429")
        assert.deepStrictEqual(yield* statusesOf(project, "annotations.create"), [429, 200])
      }).pipe(withFaults))
  })

  describe("5xx, resets and timeouts", () => {
    it.effect("an annotation create (POST) is never retried after a 5xx, even in background", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, quickBackground)
        yield* emulator.injectFault({
          kind: "status",
          status: 503,
          project: project.id,
          endpoint: "annotations.create"
        })
        const error = yield* Effect.flip(amplitude.createAnnotation({ label: "once", start: new Date() }))
        assert.strictEqual(error._tag, "AmplitudeUnavailable")
        assert.deepStrictEqual(yield* statusesOf(project, "annotations.create"), [503])
      }).pipe(withFaults))

    it.effect("an annotation create that times out is Unreachable and not retried", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, quickBackground)
        yield* emulator.injectFault({ kind: "hang", project: project.id, endpoint: "annotations.create" })
        const error = yield* Effect.flip(amplitude.createAnnotation({ label: "maybe", start: new Date() }))
        assert.strictEqual(error._tag, "Unreachable")
        assert.strictEqual(
          (yield* emulator.requests({ project: project.id, endpoint: "annotations.create" })).length,
          1
        )
      }).pipe(withFaults))

    it.effect("PUT and DELETE of an annotation are retried after a 5xx", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, CallPolicy.interactive)
        const created = yield* amplitude.createAnnotation({ label: "v1", start: new Date() })
        yield* emulator.injectFault({
          kind: "status",
          status: 500,
          project: project.id,
          endpoint: "annotations.update"
        })
        yield* emulator.injectFault({
          kind: "status",
          status: 502,
          project: project.id,
          endpoint: "annotations.delete"
        })
        const updated = yield* amplitude.updateAnnotation(created.id, { label: "v2" })
        assert.strictEqual(updated.label, "v2")
        yield* amplitude.deleteAnnotation(created.id)
        assert.deepStrictEqual(yield* statusesOf(project, "annotations.update"), [500, 200])
        assert.deepStrictEqual(yield* statusesOf(project, "annotations.delete"), [502, 200])
        assert.deepStrictEqual(yield* emulator.annotations(project.id), [])
      }).pipe(withFaults))

    it.effect("interactive: 5xx gets two quick retries, then AmplitudeUnavailable", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, CallPolicy.interactive)
        yield* emulator.injectFault({ kind: "status", status: 500, project: project.id, times: 10 })
        const { ms, result } = yield* timed(Effect.flip(amplitude.listCohorts()))
        assert.strictEqual(result._tag, "AmplitudeUnavailable")
        if (result._tag === "AmplitudeUnavailable") assert.strictEqual(result.status, 500)
        assert.deepStrictEqual(yield* statusesOf(project, "cohorts.list"), [500, 500, 500])
        assert.isBelow(ms, 3000)
      }).pipe(withFaults))

    it.effect("background: a timed-out GET is retried", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, quickBackground)
        yield* emulator.injectFault({ kind: "hang", project: project.id, endpoint: "cohorts.list" })
        const { ms, result } = yield* timed(amplitude.listCohorts())
        assert.strictEqual(result.length, project.data.cohorts.length)
        assert.isAtLeast(ms, Duration.toMillis(TEST_TIMEOUT) - 5)
        const outcomes = (yield* emulator.requests({ project: project.id, endpoint: "cohorts.list" }))
          .map((r) => r.outcome)
        assert.deepStrictEqual(outcomes, ["hung", "answered"])
      }).pipe(withFaults))

    it.effect("interactive: a timed-out GET is not retried", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        const amplitude = yield* connect(project, CallPolicy.interactive)
        yield* emulator.injectFault({ kind: "hang", project: project.id, endpoint: "cohorts.list" })
        const error = yield* Effect.flip(amplitude.listCohorts())
        assert.strictEqual(error._tag, "Unreachable")
        assert.strictEqual((yield* emulator.requests({ project: project.id, endpoint: "cohorts.list" })).length, 1)
      }).pipe(withFaults))
  })
})
