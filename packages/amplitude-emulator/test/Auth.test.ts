import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator, DEMO_PROJECTS } from "../src/index.js"
import { basic, basicFor, bearer, call } from "./helpers.js"

const us = DEMO_PROJECTS.us
const eu = DEMO_PROJECTS.eu

layer(AmplitudeEmulator.layer())("analytics auth (defaults)", (it) => {
  it.effect("accepts Basic api key + secret key on the project's own region", () =>
    Effect.gen(function*() {
      const { urls } = yield* AmplitudeEmulator
      const usReply = yield* call(`${urls.us}/api/2/events/list`, { headers: basicFor(us) })
      const euReply = yield* call(`${urls.eu}/api/2/events/list`, { headers: basicFor(eu) })
      assert.strictEqual(usReply.status, 200)
      assert.strictEqual(euReply.status, 200)
      assert.strictEqual(usReply.headers.get("content-type"), "application/json; charset=UTF-8")
    }))

  it.effect("answers 403 with the JSON error shape for a wrong secret, no header, or a malformed header", () =>
    Effect.gen(function*() {
      const { urls } = yield* AmplitudeEmulator
      for (
        const headers of [basic(us.apiKey, "wrong"), {}, { authorization: "Basic !!!" }, bearer(us.apiKey)]
      ) {
        const reply = yield* call(`${urls.us}/api/2/events/list`, { headers })
        assert.strictEqual(reply.status, 403)
        assert.deepStrictEqual(reply.body, {
          error: { http_code: 403, type: "forbidden", message: "Invalid API Key", metadata: {} }
        })
      }
    }))

  it.effect("rejects a key on the other region's host like a bad key", () =>
    Effect.gen(function*() {
      const { urls } = yield* AmplitudeEmulator
      const usKeyOnEu = yield* call(`${urls.eu}/api/2/taxonomy/category`, { headers: basicFor(us) })
      const euKeyOnUs = yield* call(`${urls.us}/api/3/cohorts`, { headers: basicFor(eu) })
      assert.strictEqual(usKeyOnEu.status, 403)
      assert.strictEqual(euKeyOnUs.status, 403)
      assert.strictEqual(usKeyOnEu.text, euKeyOnUs.text)
    }))

  it.effect("does not accept analytics credentials on the Experiment hosts or management keys on analytics", () =>
    Effect.gen(function*() {
      const { urls } = yield* AmplitudeEmulator
      const experiment = yield* call(`${urls.experimentUs}/api/1/experiments`, { headers: basicFor(us) })
      assert.strictEqual(experiment.status, 401)
      const analytics = yield* call(`${urls.us}/api/2/events/list`, { headers: bearer(us.managementKeys[0]) })
      assert.strictEqual(analytics.status, 403)
    }))

  it.effect("logs the resolved project but never the credentials", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      yield* call(`${emulator.urls.us}/api/2/events/list?probe=auth-log`, { headers: basicFor(us) })
      yield* call(`${emulator.urls.us}/api/2/events/list?probe=auth-log`, { headers: basic(us.apiKey, "nope") })
      const logged = (yield* emulator.requests()).filter((r) => r.query["probe"] === "auth-log")
      assert.deepStrictEqual(logged.map((r) => [r.projectId, r.status]), [["demo-us", 200], [null, 403]])
      const serialized = JSON.stringify(yield* emulator.requests())
      assert.isFalse(serialized.includes(us.secretKey))
      assert.isFalse(serialized.toLowerCase().includes("authorization"))
    }))
})

describe("analytics auth switches", () => {
  it.scoped("authFailureStatus 401 and the plain-text body variant", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator.make({ switches: { authFailureStatus: 401 } })
      const json = yield* call(`${emulator.urls.us}/api/2/events/list`, { headers: basic(us.apiKey, "x") })
      assert.strictEqual(json.status, 401)
      assert.deepStrictEqual(json.body, {
        error: { http_code: 401, type: "unauthorized", message: "Invalid API Key", metadata: {} }
      })
      yield* emulator.setSwitches({ authFailureBody: "text" })
      const plain = yield* call(`${emulator.urls.us}/api/2/events/list`, { headers: basic(us.apiKey, "x") })
      assert.strictEqual(plain.status, 401)
      assert.strictEqual(plain.text, "Invalid API Key")
      assert.match(plain.headers.get("content-type") ?? "", /^text\/plain/)
    }))
})

describe("Experiment Management API auth", () => {
  it.scoped("Bearer keys: 401 unknown, revoked or other-region; 403 without access", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator.make({
        demoProjects: false,
        projects: [
          {
            id: "exp-auth",
            region: "eu",
            managementKeys: [
              "ampex_good",
              { key: "ampex_revoked", revoked: true },
              { key: "ampex_noaccess", access: "none" }
            ],
            data: { users: 5, days: 3, experiments: 2 }
          }
        ]
      })
      const get = (url: string, key: string) => call(`${url}/api/1/experiments`, { headers: bearer(key) })
      assert.strictEqual((yield* get(emulator.urls.experimentEu, "ampex_good")).status, 200)
      assert.strictEqual((yield* get(emulator.urls.experimentUs, "ampex_good")).status, 401)
      assert.strictEqual((yield* get(emulator.urls.experimentEu, "ampex_revoked")).status, 401)
      assert.strictEqual((yield* get(emulator.urls.experimentEu, "ampex_unknown")).status, 401)
      const forbidden = yield* get(emulator.urls.experimentEu, "ampex_noaccess")
      assert.strictEqual(forbidden.status, 403)
      assert.strictEqual(forbidden.body.error.code, 403)
      const missing = yield* call(`${emulator.urls.experimentEu}/api/1/experiments`)
      assert.strictEqual(missing.status, 401)
      assert.deepStrictEqual(missing.body, { error: { code: 401, message: "Invalid or revoked API key" } })
    }))
})
