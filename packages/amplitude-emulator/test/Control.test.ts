import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator, DEMO_PROJECTS } from "../src/index.js"
import { basic, basicFor, bearer, call } from "./helpers.js"

const us = DEMO_PROJECTS.us

const start = AmplitudeEmulator.make()

const control = (base: string, path: string, method = "GET", body?: unknown) =>
  call(`${base}/__emulator${path}`, { method, ...(body === undefined ? {} : { body }) })

describe("control API (/__emulator on every port)", () => {
  it.scoped("lists urls and projects on all four ports without secrets", () =>
    Effect.gen(function*() {
      const emulator = yield* start
      for (const base of Object.values(emulator.urls)) {
        const reply = yield* control(base, "")
        assert.strictEqual(reply.status, 200)
        assert.deepStrictEqual(reply.body.urls, emulator.urls)
        assert.deepStrictEqual(reply.body.projects.map((p: any) => p.id), ["demo-us", "demo-eu", "demo-starter"])
      }
      const text = (yield* control(emulator.urls.us, "/projects")).text
      for (const spec of Object.values(DEMO_PROJECTS)) {
        assert.isFalse(text.includes(spec.secretKey))
        for (const key of spec.managementKeys) assert.isFalse(text.includes(typeof key === "string" ? key : key.key))
      }
      const info = yield* control(emulator.urls.eu, `/projects/${us.apiKey}`)
      assert.strictEqual(info.body.id, "demo-us")
      assert.strictEqual(info.body.counts.experiments, 1234)
      assert.strictEqual((yield* control(emulator.urls.us, "/projects/nope")).status, 404)
      assert.strictEqual((yield* control(emulator.urls.us, "/nope")).status, 404)
    }))

  it.scoped("creates projects with chosen keys; conflicts are 409; bad specs 400", () =>
    Effect.gen(function*() {
      const emulator = yield* start
      const spec = {
        id: "custom",
        region: "eu",
        apiKey: "0123456789abcdef0123456789abcdef",
        secretKey: "S3cretS3cretS3cretS3cretS3cretAB",
        managementKeys: ["ampex_custom"],
        taxonomy: false,
        data: { users: 10, days: 5, experiments: 3, seed: 7 }
      }
      const created = yield* control(emulator.urls.us, "/projects", "POST", spec)
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.body.region, "eu")
      assert.isFalse(created.text.includes(spec.secretKey))
      assert.isFalse(created.text.includes("ampex_custom"))
      const events = yield* call(`${emulator.urls.eu}/api/2/events/list`, {
        headers: basic(spec.apiKey, spec.secretKey)
      })
      assert.strictEqual(events.status, 200)
      const gated = yield* call(`${emulator.urls.eu}/api/2/taxonomy/category`, {
        headers: basic(spec.apiKey, spec.secretKey)
      })
      assert.strictEqual(gated.status, 400)
      const experiments = yield* call(`${emulator.urls.experimentEu}/api/1/experiments?includeArchived=true`, {
        headers: bearer("ampex_custom")
      })
      assert.strictEqual(experiments.body.experiments.length, 3)

      assert.strictEqual((yield* control(emulator.urls.us, "/projects", "POST", spec)).status, 409)
      assert.strictEqual((yield* control(emulator.urls.us, "/projects", "POST", { ...spec, id: "other" })).status, 409)
      assert.strictEqual((yield* control(emulator.urls.us, "/projects", "POST", { region: "mars" })).status, 400)
      assert.strictEqual((yield* control(emulator.urls.us, "/projects", "POST", "[]")).status, 400)

      const patched = yield* control(emulator.urls.us, "/projects/custom", "PATCH", { taxonomy: true })
      assert.isTrue(patched.body.taxonomy)
      const open = yield* call(`${emulator.urls.eu}/api/2/taxonomy/category`, {
        headers: basic(spec.apiKey, spec.secretKey)
      })
      assert.strictEqual(open.status, 200)
    }))

  it.scoped("switches and limits: read, patch, validate", () =>
    Effect.gen(function*() {
      const emulator = yield* start
      const switches = yield* control(emulator.urls.us, "/switches")
      assert.deepStrictEqual(switches.body, {
        authFailureStatus: 403,
        authFailureBody: "json",
        annotationCategoryKey: "category",
        taxonomyGatedStatus: 400,
        experimentsLastPageCursor: "null",
        chartNotFoundStatus: 404,
        rateLimitRetryAfterSeconds: null,
        usersGroupLabels: "seriesLabels"
      })
      const patched = yield* control(emulator.urls.experimentUs, "/switches", "PATCH", { authFailureStatus: 401 })
      assert.strictEqual(patched.body.authFailureStatus, 401)
      assert.strictEqual((yield* emulator.switches).authFailureStatus, 401)
      const rejected = yield* call(`${emulator.urls.us}/api/3/cohorts`, { headers: basic(us.apiKey, "bad") })
      assert.strictEqual(rejected.status, 401)
      assert.strictEqual(
        (yield* control(emulator.urls.us, "/switches", "PATCH", { authFailureStatus: 500 })).status,
        400
      )
      assert.strictEqual((yield* control(emulator.urls.us, "/switches", "PATCH", { nope: 1 })).status, 400)

      const limits = yield* control(emulator.urls.us, "/limits")
      assert.deepStrictEqual(limits.body, {
        analyticsConcurrency: 5,
        costBudget: 108_000,
        costWindowMs: 3_600_000,
        experimentRequestsPerSecond: 100,
        experimentRequestsPerDay: 100_000
      })
      const lowered = yield* control(emulator.urls.us, "/limits", "PATCH", {
        costBudget: 1,
        analyticsConcurrency: null
      })
      assert.deepStrictEqual([lowered.body.costBudget, lowered.body.analyticsConcurrency], [1, null])
      assert.strictEqual((yield* control(emulator.urls.us, "/limits", "PATCH", { costBudget: -1 })).status, 400)
      const get = call(`${emulator.urls.us}/api/2/events/list`, { headers: basicFor(us) })
      assert.deepStrictEqual([(yield* get).status, (yield* get).status], [200, 429])
    }))

  it.scoped("faults: create (by API key or id, by endpoint or path), list, delete", () =>
    Effect.gen(function*() {
      const emulator = yield* start
      const created = yield* control(emulator.urls.us, "/faults", "POST", {
        kind: "status",
        status: 503,
        project: us.apiKey,
        endpoint: "/api/3/cohorts*",
        times: 2
      })
      assert.strictEqual(created.status, 201)
      assert.deepStrictEqual([created.body.kind, created.body.remaining, created.body.applied], ["status", 2, 0])
      const cohorts = yield* call(`${emulator.urls.us}/api/3/cohorts`, { headers: basicFor(us) })
      assert.strictEqual(cohorts.status, 503)
      const other = yield* call(`${emulator.urls.eu}/api/3/cohorts`, { headers: basicFor(DEMO_PROJECTS.eu) })
      assert.strictEqual(other.status, 200)
      const listed = yield* control(emulator.urls.us, "/faults")
      assert.deepStrictEqual(listed.body.faults.map((f: any) => [f.id, f.remaining, f.applied]), [[
        created.body.id,
        1,
        1
      ]])
      assert.strictEqual((yield* control(emulator.urls.us, `/faults/${created.body.id}`, "DELETE")).status, 200)
      assert.strictEqual((yield* control(emulator.urls.us, `/faults/${created.body.id}`, "DELETE")).status, 404)
      assert.strictEqual((yield* call(`${emulator.urls.us}/api/3/cohorts`, { headers: basicFor(us) })).status, 200)

      for (
        const bad of [{ kind: "explode" }, { kind: "status", status: 418 }, { kind: "latency" }, {
          kind: "hang",
          times: 0
        }]
      ) {
        assert.strictEqual((yield* control(emulator.urls.us, "/faults", "POST", bad)).status, 400)
      }
      assert.strictEqual(
        (yield* control(emulator.urls.us, "/faults", "POST", { kind: "hang", project: "nope" })).status,
        404
      )
      yield* control(emulator.urls.us, "/faults", "POST", { kind: "latency", ms: 1, project: "demo-eu" })
      assert.deepStrictEqual((yield* control(emulator.urls.us, "/faults", "DELETE")).body, { success: true })
      assert.deepStrictEqual(yield* emulator.faults, [])
    }))

  it.scoped("busyMillis sums the time analytics requests are in flight, each one counted", () =>
    Effect.gen(function*() {
      const emulator = yield* start
      yield* control(emulator.urls.us, "/faults", "POST", { project: us.id, kind: "latency", ms: 200 })
      yield* control(emulator.urls.us, "/reset", "POST")
      yield* Effect.all([
        call(`${emulator.urls.us}/api/2/events/list`, { headers: basicFor(us) }),
        call(`${emulator.urls.us}/api/2/events/list`, { headers: basicFor(us) })
      ], { concurrency: "unbounded" })
      const { busyMillis } = yield* emulator.usage(us.id)
      assert.isAtLeast(busyMillis, 2 * 195, "two requests of 200 ms each")
      assert.isBelow(busyMillis, 2 * 1_000)
    }))

  it.scoped("inspection: requests, annotations, usage; reset", () =>
    Effect.gen(function*() {
      const emulator = yield* start
      yield* call(`${emulator.urls.us}/api/3/annotations`, {
        method: "POST",
        headers: basicFor(us),
        body: { label: "▲ Bet", start: "2026-07-01T00:00:00+00:00", details: "findry:b1:promoted" }
      })
      yield* call(`${emulator.urls.us}/api/2/events/list?x=1&x=2`, { headers: basicFor(us) })
      const requests = yield* control(emulator.urls.eu, `/requests?project=${us.id}`)
      assert.deepStrictEqual(
        requests.body.requests.map((r: any) => [r.method, r.path, r.endpoint, r.host, r.projectId, r.status]),
        [
          ["POST", "/api/3/annotations", "annotations.create", "us", "demo-us", 200],
          ["GET", "/api/2/events/list", "events.list", "us", "demo-us", 200]
        ]
      )
      assert.deepStrictEqual(requests.body.requests[1].query, { x: ["1", "2"] })
      assert.isFalse(requests.text.includes(us.secretKey))
      const filtered = yield* control(emulator.urls.us, "/requests?endpoint=events.list")
      assert.strictEqual(filtered.body.requests.length, 1)

      const annotations = yield* control(emulator.urls.us, `/projects/${us.id}/annotations`)
      assert.deepStrictEqual(
        annotations.body.annotations.map((a: any) => [a.label, a.details, a.category, a.chartId]),
        [["▲ Bet", "findry:b1:promoted", "Uncategorized", null]]
      )
      const usage = yield* control(emulator.urls.us, `/projects/${us.id}/usage`)
      const { busyMillis, ...counts } = usage.body
      assert.deepStrictEqual(counts, { projectId: "demo-us", inFlight: 0, maxInFlight: 1, costUsed: 1 })
      assert.isAbove(busyMillis, 0)
      const all = yield* control(emulator.urls.us, "/usage")
      assert.strictEqual(all.body.usage.length, 3)

      assert.deepStrictEqual((yield* control(emulator.urls.us, "/reset", "POST")).body, { success: true })
      assert.deepStrictEqual((yield* control(emulator.urls.us, "/requests")).body, { requests: [] })
      assert.strictEqual((yield* emulator.usage(us.id)).maxInFlight, 0)
      assert.strictEqual((yield* emulator.usage(us.id)).busyMillis, 0)
      assert.strictEqual((yield* emulator.annotations(us.id)).length, 1)
    }))
})
