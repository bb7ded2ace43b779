import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator, DEMO_PROJECTS } from "../src/index.js"
import { basicFor, call } from "./helpers.js"

const us = DEMO_PROJECTS.us
const starter = DEMO_PROJECTS.starter

layer(AmplitudeEmulator.layer())("catalog endpoints on the demo projects", (it) => {
  it.effect("GET /api/2/taxonomy/category lists categories; the plural path is 404", () =>
    Effect.gen(function*() {
      const { urls } = yield* AmplitudeEmulator
      const reply = yield* call(`${urls.us}/api/2/taxonomy/category`, { headers: basicFor(us) })
      assert.strictEqual(reply.status, 200)
      assert.deepStrictEqual(reply.body, {
        success: true,
        data: [{ id: 412931, name: "Attribution" }, { id: 412941, name: "Conversion" }, {
          id: 412951,
          name: "Engagement"
        }]
      })
      const plural = yield* call(`${urls.us}/api/2/taxonomy/categories`, { headers: basicFor(us) })
      assert.strictEqual(plural.status, 404)
    }))

  it.effect("a project without the Taxonomy API gets the plan-gated 400 body", () =>
    Effect.gen(function*() {
      const { urls } = yield* AmplitudeEmulator
      for (const path of ["/api/2/taxonomy/category", "/api/2/taxonomy/event"]) {
        const reply = yield* call(`${urls.us}${path}`, { headers: basicFor(starter) })
        assert.strictEqual(reply.status, 400)
        assert.strictEqual(reply.headers.get("content-type"), "application/json; charset=utf-8")
        assert.deepStrictEqual(reply.body, {
          success: false,
          errors: [{ message: "Taxonomy feature is not enabled." }]
        })
      }
      const events = yield* call(`${urls.us}/api/2/events/list`, { headers: basicFor(starter) })
      assert.strictEqual(events.status, 200)
    }))

  it.effect("GET /api/2/taxonomy/event returns visible events in the Observed EVENT form", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* emulator.project(us.id)
      const reply = yield* call(`${emulator.urls.us}/api/2/taxonomy/event`, { headers: basicFor(us) })
      const visible = project.data.events.filter((e) => !e.hidden)
      assert.deepStrictEqual(reply.body.data.map((e: any) => e.event_type), visible.map((e) => e.name))
      const share = reply.body.data.find((e: any) => e.event_type === "Share")
      assert.deepStrictEqual(share, {
        event_type: "Share",
        description: null,
        display_name: null,
        category: null,
        deleted: null,
        tags: [],
        is_active: true,
        owner: null,
        is_hidden_from_dropdowns: false,
        is_hidden_from_persona_results: false,
        is_hidden_from_pathfinder: false,
        is_hidden_from_timeline: false
      })
      const purchase = yield* call(`${emulator.urls.us}/api/2/taxonomy/event/Purchase`, { headers: basicFor(us) })
      assert.deepStrictEqual(purchase.body.data.category, { name: "Conversion" })
      const missing = yield* call(`${emulator.urls.us}/api/2/taxonomy/event/Nope`, { headers: basicFor(us) })
      assert.deepStrictEqual([missing.status, missing.body], [400, {
        success: false,
        errors: [{ message: "Not found" }]
      }])
    }))

  it.effect("GET /api/2/events/list: visible events, totals over the last 7 days of data", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* emulator.project(us.id)
      const reply = yield* call(`${emulator.urls.us}/api/2/events/list`, { headers: basicFor(us) })
      const week = new Set(project.data.days.slice(-7))
      const expected = project.data.events.filter((e) => !e.hidden).map((e) => [
        e.name,
        e.occurrences.filter((o) => week.has(o.day)).length
      ])
      assert.deepStrictEqual(reply.body.data.map((e: any) => [e.value, e.totals]), expected)
      for (const key of ["non_active", "value", "totals", "deleted", "flow_hidden", "hidden", "display", "id"]) {
        assert.property(reply.body.data[0], key)
      }
    }))

  it.effect("GET /api/3/cohorts: {cohorts:[…]} with appId; single cohort with user_ids", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* emulator.project(us.id)
      const list = yield* call(`${emulator.urls.us}/api/3/cohorts`, { headers: basicFor(us) })
      assert.deepStrictEqual(Object.keys(list.body), ["cohorts"])
      assert.deepStrictEqual(
        list.body.cohorts.map((c: any) => [c.id, c.name, c.appId, c.size, c.archived]),
        project.data.cohorts.map((c) => [c.id, c.name, 829528, c.userIds.length, c.archived])
      )
      const first = list.body.cohorts[0]
      assert.strictEqual(first.cohort_output_type, "UNIQUES")
      assert.deepStrictEqual(first.owners, ["amp"])
      assert.isUndefined(first.syncMetadata)
      const synced = yield* call(`${emulator.urls.us}/api/3/cohorts?includeSyncInfo=true`, { headers: basicFor(us) })
      assert.deepStrictEqual(synced.body.cohorts[0].syncMetadata, [])

      const cohort = project.data.cohorts[0]!
      const single = yield* call(`${emulator.urls.us}/api/3/cohorts/${cohort.id}`, { headers: basicFor(us) })
      assert.deepStrictEqual(single.body, { cohort: first, amplitude_ids: [], user_ids: [...cohort.userIds] })
      const missing = yield* call(`${emulator.urls.us}/api/3/cohorts/nope1234`, { headers: basicFor(us) })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.body.error.http_code, 404)
    }))

  it.effect("unknown paths are 404 even without credentials", () =>
    Effect.gen(function*() {
      const { urls } = yield* AmplitudeEmulator
      assert.strictEqual((yield* call(`${urls.us}/api/3/chart-annotations`)).status, 404)
      assert.strictEqual((yield* call(`${urls.experimentUs}/api/2/events/list`)).status, 404)
      assert.strictEqual((yield* call(`${urls.us}/api/1/experiments`, { headers: basicFor(us) })).status, 404)
    }))
})

describe("taxonomy writes and switches", () => {
  it.scoped("category create/get/update/delete with form bodies; gated status 403; plan flag toggles", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator.make({
        demoProjects: false,
        projects: [{ id: "tax", data: { users: 5, days: 3, experiments: 1 } }]
      })
      const project = yield* emulator.project("tax")
      const headers = { ...basicFor(project), "content-type": "application/x-www-form-urlencoded" }
      const url = `${emulator.urls.us}/api/2/taxonomy/category`
      const created = yield* call(url, { method: "POST", headers, body: "category_name=Findry" })
      assert.deepStrictEqual([created.status, created.body], [200, { success: true }])
      const got = yield* call(`${url}/Findry`, { headers })
      assert.strictEqual(got.body.data.name, "Findry")
      const id = got.body.data.id
      assert.deepStrictEqual((yield* call(`${url}/${id}`, { method: "PUT", headers, body: "category_name=F2" })).body, {
        success: true
      })
      assert.deepStrictEqual((yield* call(`${url}/${id}`, { method: "DELETE", headers })).body, { success: true })
      const gone = yield* call(`${url}/${id}`, { method: "DELETE", headers })
      assert.strictEqual(gone.status, 409)
      assert.deepStrictEqual(gone.body, {
        success: false,
        errors: [{ message: `Attempted to operate on entity event_category, id "${id}", that does not exist.` }]
      })
      assert.strictEqual((yield* call(`${url}/Nope`, { headers })).status, 400)

      yield* emulator.setTaxonomy("tax", false)
      yield* emulator.setSwitches({ taxonomyGatedStatus: 403 })
      const gated = yield* call(url, { headers })
      assert.deepStrictEqual([gated.status, gated.body.success], [403, false])
      yield* emulator.setTaxonomy(project.apiKey, true)
      assert.strictEqual((yield* call(url, { headers })).status, 200)
    }))
})
