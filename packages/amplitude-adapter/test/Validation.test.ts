import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Duration, Effect, Redacted } from "effect"
import { AmplitudeClient } from "../src/index.js"
import {
  clientAt,
  closedPort,
  freshProject,
  keysOf,
  TEST_TIMEOUT,
  TestLive,
  timed,
  withClient,
  withFaults,
  withSwitches
} from "./helpers.js"

const demo = (project: { readonly apiKey: string; readonly secretKey: string }, region: "us" | "eu") => ({
  region,
  apiKey: Redacted.make(project.apiKey),
  secretKey: Redacted.make(project.secretKey)
})

layer(TestLive, { excludeTestServices: true })("validateCredentials", (it) => {
  it.effect("accepts US keys with the Taxonomy API and reads the appId from the cohort list", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const result = yield* client.validateCredentials(demo(DEMO_PROJECTS.us, "us"))
      assert.deepStrictEqual(result, { region: "us", capabilities: { taxonomy: true }, appId: 829528 })
    }))

  it.effect("accepts EU keys on the EU host", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const result = yield* client.validateCredentials(demo(DEMO_PROJECTS.eu, "eu"))
      assert.deepStrictEqual(result, { region: "eu", capabilities: { taxonomy: true }, appId: 431907 })
    }))

  describe("plan-gated Taxonomy API", () => {
    for (const taxonomyGatedStatus of [400, 403] as const) {
      it.effect(`falls back to the event list when Taxonomy answers ${taxonomyGatedStatus}`, () =>
        Effect.gen(function*() {
          const client = yield* AmplitudeClient
          const emulator = yield* AmplitudeEmulator
          yield* emulator.resetInspection
          const result = yield* client.validateCredentials(demo(DEMO_PROJECTS.starter, "us"))
          assert.deepStrictEqual(result, { region: "us", capabilities: { taxonomy: false }, appId: 615243 })
          const endpoints = (yield* emulator.requests({ host: "us" })).map((r) => `${r.endpoint} ${r.status}`)
          assert.deepStrictEqual(endpoints, [
            `taxonomy.category.list ${taxonomyGatedStatus}`,
            "events.list 200",
            "cohorts.list 200"
          ])
        }).pipe(withSwitches({ taxonomyGatedStatus })))
    }
  })

  describe("wrong region", () => {
    it.effect("US keys sent to EU are detected as US", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const error = yield* Effect.flip(client.validateCredentials(demo(DEMO_PROJECTS.us, "eu")))
        assert.strictEqual(error._tag, "WrongRegion")
        if (error._tag !== "WrongRegion") return
        assert.strictEqual(error.detectedRegion, "us")
        assert.match(error.message, /^Wrong region: these keys belong to Amplitude US Cloud/)
      }))

    it.effect("EU keys sent to US are detected as EU, with one probe of the EU host", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        yield* emulator.resetInspection
        const error = yield* Effect.flip(client.validateCredentials(demo(DEMO_PROJECTS.eu, "us")))
        assert.strictEqual(error._tag, "WrongRegion")
        if (error._tag !== "WrongRegion") return
        assert.strictEqual(error.detectedRegion, "eu")
        const requests = (yield* emulator.requests()).map((r) => `${r.host} ${r.endpoint} ${r.status}`)
        assert.deepStrictEqual(requests, [
          "us taxonomy.category.list 403",
          "us events.list 403",
          "eu events.list 200"
        ])
      }))

    it.effect("is also detected when bad keys get 401", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const error = yield* Effect.flip(client.validateCredentials(demo(DEMO_PROJECTS.eu, "us")))
        assert.strictEqual(error._tag, "WrongRegion")
      }).pipe(withSwitches({ authFailureStatus: 401, authFailureBody: "text" })))
  })

  describe("invalid credentials", () => {
    for (const authFailureStatus of [401, 403] as const) {
      it.effect(`keys unknown on both hosts (${authFailureStatus}) are InvalidCredentials`, () =>
        Effect.gen(function*() {
          const client = yield* AmplitudeClient
          const emulator = yield* AmplitudeEmulator
          yield* emulator.resetInspection
          const error = yield* Effect.flip(client.validateCredentials({
            region: "us",
            apiKey: Redacted.make("0123456789abcdef0123456789abcdef"),
            secretKey: Redacted.make("not-the-secret")
          }))
          assert.strictEqual(error._tag, "InvalidCredentials")
          assert.match(error.message, /^Amplitude rejected the API key/)
          const hosts = (yield* emulator.requests()).map((r) => `${r.host} ${r.status}`)
          assert.deepStrictEqual(hosts, [
            `us ${authFailureStatus}`,
            `us ${authFailureStatus}`,
            `eu ${authFailureStatus}`
          ])
        }).pipe(withSwitches({ authFailureStatus })))
    }

    it.effect("a secret key of another project is InvalidCredentials", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const error = yield* Effect.flip(client.validateCredentials({
          ...demo(DEMO_PROJECTS.us, "us"),
          secretKey: Redacted.make(DEMO_PROJECTS.eu.secretKey)
        }))
        assert.strictEqual(error._tag, "InvalidCredentials")
      }))
  })

  describe("transport failures", () => {
    it.effect("a hang is Unreachable within the timeout, and is not retried", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        yield* emulator.injectFault({ kind: "hang", project: project.id, times: 5 })
        const { ms, result } = yield* timed(Effect.flip(client.validateCredentials(keysOf(project))))
        assert.strictEqual(result._tag, "Unreachable")
        if (result._tag !== "Unreachable") return
        assert.strictEqual(result.reason, "timeout")
        assert.strictEqual(result.message, "Couldn't reach Amplitude: network timeout. Try again in a minute.")
        const timeout = Duration.toMillis(TEST_TIMEOUT)
        assert.isAtLeast(ms, timeout - 5)
        assert.isBelow(ms, timeout + 1000, "no retry after the timeout (the slack is for a loaded machine)")
        assert.strictEqual((yield* emulator.requests({ project: project.id })).length, 1)
      }).pipe(withFaults))

    it.effect("a connection reset is retried and then succeeds", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        yield* emulator.injectFault({ kind: "reset", project: project.id, endpoint: "taxonomy.category.list" })
        const result = yield* client.validateCredentials(keysOf(project))
        assert.isTrue(result.capabilities.taxonomy)
        const outcomes = (yield* emulator.requests({ project: project.id, endpoint: "taxonomy.category.list" }))
          .map((r) => r.outcome)
        assert.deepStrictEqual(outcomes, ["reset", "answered"])
      }).pipe(withFaults))

    it.effect("a refused connection is Unreachable", () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const project = yield* freshProject()
        const error = yield* withClient(
          clientAt(`http://127.0.0.1:${port}`),
          (client) => Effect.flip(client.validateCredentials(keysOf(project)))
        )
        assert.strictEqual(error._tag, "Unreachable")
        if (error._tag === "Unreachable") assert.strictEqual(error.reason, "ECONNREFUSED")
      }))

    it.effect("5xx is retried, then surfaced as AmplitudeUnavailable", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        yield* emulator.injectFault({ kind: "status", status: 503, project: project.id, times: 10 })
        const error = yield* Effect.flip(client.validateCredentials(keysOf(project)))
        assert.strictEqual(error._tag, "AmplitudeUnavailable")
        if (error._tag === "AmplitudeUnavailable") assert.strictEqual(error.status, 503)
        assert.strictEqual((yield* emulator.requests({ project: project.id })).length, 3)
      }).pipe(withFaults))

    it.effect("5xx for the next 2 requests is retried and then succeeds", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        yield* emulator.injectFault({ kind: "status", status: 502, project: project.id, times: 2 })
        const result = yield* client.validateCredentials(keysOf(project))
        assert.isTrue(result.capabilities.taxonomy)
        const statuses = (yield* emulator.requests({ project: project.id, endpoint: "taxonomy.category.list" }))
          .map((r) => r.status)
        assert.deepStrictEqual(statuses, [502, 502, 200])
      }).pipe(withFaults))
  })

  describe("rate limits (interactive: fail fast)", () => {
    it.effect("429 without Retry-After is RateLimited with 60 seconds", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        yield* emulator.injectFault({ kind: "status", status: 429, project: project.id, times: 5 })
        const { ms, result } = yield* timed(Effect.flip(client.validateCredentials(keysOf(project))))
        assert.strictEqual(result._tag, "RateLimited")
        if (result._tag !== "RateLimited") return
        assert.strictEqual(result.retryAfterSeconds, 60)
        assert.strictEqual(
          result.message,
          "Amplitude rate-limited the validation call (429). Wait 60 seconds and retry."
        )
        assert.isBelow(ms, 2000, "no waiting for the 60 seconds")
        assert.strictEqual((yield* emulator.requests({ project: project.id })).length, 1)
      }).pipe(withFaults))

    it.effect("429 with Retry-After carries the header's value", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        yield* emulator.injectFault({
          kind: "status",
          status: 429,
          retryAfterSeconds: 17,
          project: project.id,
          endpoint: "events.list"
        })
        yield* emulator.setTaxonomy(project.id, false)
        const error = yield* Effect.flip(client.validateCredentials(keysOf(project)))
        assert.strictEqual(error._tag, "RateLimited")
        if (error._tag === "RateLimited") assert.strictEqual(error.retryAfterSeconds, 17)
      }).pipe(withFaults))
  })

  describe("display name (best effort)", () => {
    it.effect("a failing cohort list leaves appId null and the validation successful", () =>
      Effect.gen(function*() {
        const client = yield* AmplitudeClient
        const emulator = yield* AmplitudeEmulator
        const project = yield* freshProject()
        yield* emulator.injectFault({
          kind: "status",
          status: 500,
          project: project.id,
          endpoint: "cohorts.list",
          times: 10
        })
        const result = yield* client.validateCredentials(keysOf(project))
        assert.deepStrictEqual(result, { region: "us", capabilities: { taxonomy: true }, appId: null })
      }).pipe(withFaults))
  })
})

layer(TestLive, { excludeTestServices: true })("validateManagementKey", (it) => {
  const management = (key: string, region: "us" | "eu" = "us") => ({ region, managementKey: Redacted.make(key) })

  it.effect("accepts a management key with access, asking for one experiment on the region's Experiment host", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const emulator = yield* AmplitudeEmulator
      yield* emulator.resetInspection
      yield* client.validateManagementKey(management(DEMO_PROJECTS.eu.managementKeys[0], "eu"))
      const [request] = yield* emulator.requests()
      assert.strictEqual(request!.host, "experimentEu")
      assert.strictEqual(request!.path, "/api/1/experiments")
      assert.deepStrictEqual(request!.query, { limit: "1" })
    }))

  it.effect("401 (unknown or revoked key) is InvalidCredentials with a management-key message", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const error = yield* Effect.flip(client.validateManagementKey(management("ampex_not-a-real-key")))
      assert.strictEqual(error._tag, "InvalidCredentials")
      assert.match(error.message, /^Amplitude rejected the Management API key/)
    }))

  it.effect("403 (key without access to the project) is NoExperimentAccess", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const error = yield* Effect.flip(
        client.validateManagementKey(management(DEMO_PROJECTS.starter.managementKeys[0].key))
      )
      assert.strictEqual(error._tag, "NoExperimentAccess")
      assert.match(error.message, /no access to this project/)
    }))

  it.effect("429, 5xx and hangs map like the analytics calls", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const emulator = yield* AmplitudeEmulator
      const key = management(DEMO_PROJECTS.us.managementKeys[0])
      yield* emulator.injectFault({ kind: "status", status: 429, retryAfterSeconds: 4, host: "experimentUs" })
      const limited = yield* Effect.flip(client.validateManagementKey(key))
      assert.deepStrictEqual([limited._tag, limited._tag === "RateLimited" && limited.retryAfterSeconds], [
        "RateLimited",
        4
      ])
      yield* emulator.injectFault({ kind: "status", status: 500, host: "experimentUs", times: 3 })
      const unavailable = yield* Effect.flip(client.validateManagementKey(key))
      assert.strictEqual(unavailable._tag, "AmplitudeUnavailable")
      yield* emulator.injectFault({ kind: "hang", host: "experimentUs" })
      const unreachable = yield* Effect.flip(client.validateManagementKey(key))
      assert.strictEqual(unreachable._tag, "Unreachable")
      yield* client.validateManagementKey(key)
    }).pipe(withFaults))
})
