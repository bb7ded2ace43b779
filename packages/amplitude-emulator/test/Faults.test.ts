import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { AmplitudeEmulator, type Emulator } from "../src/index.js"
import { basic, basicFor, bearer, call, eventually } from "./helpers.js"

const small = { users: 5, days: 3, experiments: 3 }

const setup = Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator.make({
    demoProjects: false,
    projects: [
      { id: "a", managementKeys: ["ampex_a"], data: small },
      { id: "b", data: small }
    ]
  })
  const a = yield* emulator.project("a")
  const b = yield* emulator.project("b")
  return { emulator, a, b, urls: emulator.urls }
})

const awaitOutcome = (emulator: Emulator, outcome: string, count = 1) =>
  emulator.awaitRequests((r) => r.outcome === outcome, count).pipe(Effect.timeout("3 seconds"))

describe("fault injection (in-process)", () => {
  it.scopedLive("latency delays only the targeted project and endpoint", () =>
    Effect.gen(function*() {
      const { a, b, emulator, urls } = yield* setup
      yield* emulator.injectFault({ kind: "latency", ms: 300, project: "a", endpoint: "events.list" })
      const started = performance.now()
      assert.strictEqual((yield* call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) })).status, 200)
      assert.isAtLeast(performance.now() - started, 290)
      const other = performance.now()
      yield* call(`${urls.us}/api/2/events/list`, { headers: basicFor(b) })
      yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a) })
      assert.isBelow(performance.now() - other, 250)
      const timedOut = yield* Effect.flip(
        call(`${urls.us}/api/2/events/list`, { headers: basicFor(a), timeoutMs: 100 })
      )
      assert.strictEqual(timedOut.kind, "timeout")
    }))

  it.scopedLive("hold keeps matching requests until the fault is removed, then they are served", () =>
    Effect.gen(function*() {
      const { a, b, emulator, urls } = yield* setup
      const gate = yield* emulator.injectFault({ kind: "hold", project: "a", endpoint: "events.list" })
      const held = yield* Effect.fork(call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) }))
      yield* awaitOutcome(emulator, "held")
      assert.strictEqual((yield* call(`${urls.us}/api/2/events/list`, { headers: basicFor(b) })).status, 200)
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a) })).status, 200)
      assert.isNull(held.unsafePoll(), "still held")
      assert.isTrue(yield* emulator.removeFault(gate.id))
      assert.strictEqual((yield* Fiber.join(held)).status, 200)
      const [record] = yield* emulator.requests({ project: "a", endpoint: "events.list" })
      assert.deepStrictEqual([record?.outcome, record?.status], ["answered", 200])
    }))

  it.scopedLive("hang never answers; the next request (times: 1) is normal", () =>
    Effect.gen(function*() {
      const { a, emulator, urls } = yield* setup
      yield* emulator.injectFault({ kind: "hang", endpoint: "/api/3/cohorts" })
      const hung = yield* Effect.flip(call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a), timeoutMs: 1_000 }))
      assert.strictEqual(hung.kind, "timeout")
      yield* awaitOutcome(emulator, "hung")
      const [record] = yield* emulator.requests({ endpoint: "cohorts.list" })
      assert.deepStrictEqual([record?.outcome, record?.status], ["hung", null])
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a) })).status, 200)
    }))

  it.scopedLive("closing the emulator drops hung connections promptly", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const { a, emulator, urls } = yield* setup
        yield* emulator.injectFault({ kind: "hang" })
        const fiber = yield* Effect.fork(Effect.either(call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) })))
        yield* awaitOutcome(emulator, "hung")
        return fiber
      }))
      const started = performance.now()
      const result = yield* Fiber.join(outcome)
      assert.isTrue(result._tag === "Left")
      assert.isBelow(performance.now() - started, 1_000)
    }))

  it.scopedLive("reset destroys the socket", () =>
    Effect.gen(function*() {
      const { a, emulator, urls } = yield* setup
      yield* emulator.injectFault({ kind: "reset", project: a.apiKey })
      const error = yield* Effect.flip(call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) }))
      assert.strictEqual(error.kind, "network")
      const [record] = yield* emulator.requests()
      assert.strictEqual(record?.outcome, "reset")
      assert.strictEqual((yield* call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) })).status, 200)
    }))

  it.scoped("forced statuses for the next N requests, with and without Retry-After", () =>
    Effect.gen(function*() {
      const { a, emulator, urls } = yield* setup
      const get = call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) })
      yield* emulator.injectFault({ kind: "status", status: 429, times: 2 })
      const first = yield* get
      const second = yield* get
      assert.deepStrictEqual([first.status, second.status, (yield* get).status], [429, 429, 200])
      assert.isNull(first.headers.get("retry-after"))
      assert.strictEqual(first.body.error.http_code, 429)

      yield* emulator.injectFault({ kind: "status", status: 429, retryAfterSeconds: 7 })
      assert.strictEqual((yield* get).headers.get("retry-after"), "7")

      yield* emulator.injectFault({ kind: "status", status: 500 })
      const error500 = yield* get
      assert.deepStrictEqual([error500.status, error500.body.error.type], [500, "unspecified"])
      for (const status of [502, 503] as const) {
        yield* emulator.injectFault({ kind: "status", status })
        const reply = yield* get
        assert.strictEqual(reply.status, status)
        assert.match(reply.text, new RegExp(`<h1>${status}`))
      }
      yield* emulator.injectFault({ kind: "status", status: 503, host: "experimentUs" })
      assert.strictEqual((yield* get).status, 200)
      const experiment = yield* call(`${urls.experimentUs}/api/1/experiments`, { headers: bearer("ampex_a") })
      assert.strictEqual(experiment.status, 503)
      const faults = yield* emulator.faults
      assert.isTrue(faults.length === 6 && faults.every((f) => f.remaining === 0))
    }))

  it.scoped("faults also hit requests whose credentials are rejected (by the claimed API key, or unscoped)", () =>
    Effect.gen(function*() {
      const { a, emulator, urls } = yield* setup
      const wrongSecret = basic(a.apiKey, "wrong")
      yield* emulator.injectFault({ kind: "status", status: 502, project: "a" })
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`, { headers: basic("0".repeat(32), "x") })).status, 403)
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`, { headers: wrongSecret })).status, 502)
      yield* emulator.injectFault({ kind: "status", status: 503 })
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`)).status, 503)
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`)).status, 403)
    }))

  it.scopedLive("delayAfterCreate creates the annotation but answers late, so a retry duplicates it", () =>
    Effect.gen(function*() {
      const { a, emulator, urls } = yield* setup
      yield* emulator.injectFault({ kind: "delayAfterCreate", ms: 1_000, project: "a" })
      const create = (timeoutMs: number) =>
        call(`${urls.us}/api/3/annotations`, {
          method: "POST",
          headers: basicFor(a),
          body: { label: "▲ Bet", start: "2026-07-01T00:00:00+00:00" },
          timeoutMs
        })
      const timedOut = yield* Effect.flip(create(150))
      assert.strictEqual(timedOut.kind, "timeout")
      assert.strictEqual((yield* emulator.annotations("a")).length, 1)
      assert.strictEqual((yield* create(2_000)).status, 200)
      assert.deepStrictEqual((yield* emulator.annotations("a")).map((x) => x.label), ["▲ Bet", "▲ Bet"])
    }))

  it.scoped("faults can be listed and removed; unknown projects are rejected", () =>
    Effect.gen(function*() {
      const { emulator } = yield* setup
      const fault = yield* emulator.injectFault({ kind: "latency", ms: 5, endpoint: "annotations.*" })
      assert.deepStrictEqual((yield* emulator.faults).map((f) => [f.id, f.remaining]), [[fault.id, null]])
      assert.isTrue(yield* emulator.removeFault(fault.id))
      assert.isFalse(yield* emulator.removeFault(fault.id))
      const error = yield* Effect.flip(emulator.injectFault({ kind: "hang", project: "nope" }))
      assert.strictEqual(error._tag, "UnknownProject")
    }))
})

describe("limits", () => {
  it.scopedLive("the 6th concurrent analytics request of a project gets 429 (no Retry-After by default)", () =>
    Effect.gen(function*() {
      const { a, b, emulator, urls } = yield* setup
      yield* emulator.injectFault({ kind: "hang", project: "a", times: 5 })
      const hanging = yield* Effect.forkScoped(
        Effect.all(
          [
            "/api/2/events/list",
            "/api/3/cohorts",
            "/api/2/taxonomy/category",
            "/api/3/annotations",
            "/api/2/events/list"
          ]
            .map((path) => Effect.either(call(`${urls.us}${path}`, { headers: basicFor(a), timeoutMs: 10_000 }))),
          { concurrency: "unbounded" }
        )
      )
      yield* awaitOutcome(emulator, "hung", 5)
      const sixth = yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a) })
      assert.strictEqual(sixth.status, 429)
      assert.isNull(sixth.headers.get("retry-after"))
      assert.deepStrictEqual(Object.keys(sixth.body.error), ["http_code", "type", "message", "metadata"])
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(b) })).status, 200)

      yield* emulator.setSwitches({ rateLimitRetryAfterSeconds: 30 })
      const seventh = yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a) })
      assert.deepStrictEqual([seventh.status, seventh.headers.get("retry-after")], [429, "30"])
      assert.strictEqual(yield* emulator.maxConcurrency("a"), 6)
      assert.strictEqual((yield* emulator.usage("a")).inFlight, 5)

      yield* Fiber.interrupt(hanging)
      yield* eventually(emulator.usage("a"), (u) => u.inFlight === 0)
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a) })).status, 200)
      yield* emulator.resetInspection
      assert.strictEqual(yield* emulator.maxConcurrency("a"), 0)
      assert.deepStrictEqual(yield* emulator.requests(), [])
    }))

  it.scopedLive("the concurrency limit can be lowered and turned off; latency counts as in flight", () =>
    Effect.gen(function*() {
      const { a, emulator, urls } = yield* setup
      yield* emulator.setLimits({ analyticsConcurrency: 2 })
      yield* emulator.injectFault({ kind: "latency", ms: 400, project: "a" })
      const statuses = yield* Effect.all(
        [0, 1, 2].map(() => call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) })),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(statuses.map((r) => r.status).sort(), [200, 200, 429])
      yield* emulator.setLimits({ analyticsConcurrency: null })
      const unlimited = yield* Effect.all(
        Array.from({ length: 8 }, () => call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) })),
        { concurrency: "unbounded" }
      )
      assert.isTrue(unlimited.every((r) => r.status === 200))
      assert.strictEqual(yield* emulator.maxConcurrency("a"), 8)
    }))

  it.scoped("the hourly cost budget answers 429 once spent", () =>
    Effect.gen(function*() {
      const { a, emulator, urls } = yield* setup
      yield* emulator.setLimits({ costBudget: 3 })
      const get = call(`${urls.us}/api/2/events/list`, { headers: basicFor(a) })
      const statuses = [(yield* get).status, (yield* get).status, (yield* get).status, (yield* get).status]
      assert.deepStrictEqual(statuses, [200, 200, 200, 429])
      assert.strictEqual((yield* emulator.usage("a")).costUsed, 3)
      assert.strictEqual((yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(a) })).status, 200)
      yield* emulator.resetInspection
      assert.strictEqual((yield* get).status, 200)
      yield* emulator.setLimits({ costBudget: null })
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* get).status, 200)
    }))

  it.scoped("Experiment API: requests per second per project", () =>
    Effect.gen(function*() {
      const { emulator, urls } = yield* setup
      yield* emulator.setLimits({ experimentRequestsPerSecond: 3 })
      const get = call(`${urls.experimentUs}/api/1/experiments?limit=1`, { headers: bearer("ampex_a") })
      const statuses = [(yield* get).status, (yield* get).status, (yield* get).status, (yield* get).status]
      assert.deepStrictEqual(statuses, [200, 200, 200, 429])
      yield* emulator.setLimits({ experimentRequestsPerSecond: null })
      assert.strictEqual((yield* get).status, 200)
    }))
})
