import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator } from "../src/index.js"
import { basicFor, call } from "./helpers.js"

const setup = Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator.make({
    demoProjects: false,
    projects: [{ id: "notes", data: { users: 5, days: 3, experiments: 1 } }]
  })
  const project = yield* emulator.project("notes")
  const headers = basicFor(project)
  const api = (path: string, method = "GET", body?: unknown) =>
    call(`${emulator.urls.us}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
  return { emulator, api }
})

describe("annotations v3", () => {
  it.scoped("create answers the Observed body with the default Uncategorized category", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup
      const reply = yield* api("/api/3/annotations", "POST", {
        label: "Test Annotation",
        start: "2026-06-15T00:00:00+00:00"
      })
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers.get("content-type"), "application/json; charset=UTF-8")
      assert.deepStrictEqual(reply.body, {
        data: {
          id: reply.body.data.id,
          start: "2026-06-15T00:00:00+00:00",
          label: "Test Annotation",
          details: null,
          category: { id: 1, category: "Uncategorized" },
          end: null,
          chart_id: null
        }
      })
      assert.deepStrictEqual(Object.keys(reply.body.data), [
        "id",
        "start",
        "label",
        "details",
        "category",
        "end",
        "chart_id"
      ])
      assert.isNumber(reply.body.data.id)
      const stored = yield* emulator.annotations("notes")
      assert.deepStrictEqual(stored.map((a) => [a.id, a.label, a.category]), [[
        reply.body.data.id,
        "Test Annotation",
        "Uncategorized"
      ]])
    }))

  it.scoped("create validates label and start (400) and the category name (404)", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const noLabel = yield* api("/api/3/annotations", "POST", { start: "2026-06-15T00:00:00+00:00" })
      assert.strictEqual(noLabel.status, 400)
      assert.strictEqual(noLabel.body.error.http_code, 400)
      assert.strictEqual((yield* api("/api/3/annotations", "POST", { label: "x", start: "yesterday" })).status, 400)
      assert.strictEqual((yield* api("/api/3/annotations", "POST", "not json")).status, 400)
      const unknown = yield* api("/api/3/annotations", "POST", {
        label: "x",
        start: "2026-06-15T00:00:00+00:00",
        category: "Findry"
      })
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(unknown.body.error.http_code, 404)
    }))

  it.scoped("list, get, partial PUT (null clears chart_id and end) and delete", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup
      yield* api("/api/3/annotation-categories", "POST", { category: "Findry" })
      const created = (yield* api("/api/3/annotations", "POST", {
        label: "▲ Ship it",
        start: "2026-07-01T10:00:00+00:00",
        end: "2026-07-02T10:00:00+00:00",
        category: "Findry",
        chart_id: "abc123",
        details: "findry:bet-1:promoted"
      })).body.data
      assert.deepStrictEqual(created.category, { id: 1247, category: "Findry" })
      assert.strictEqual(created.chart_id, "abc123")
      const other =
        (yield* api("/api/3/annotations", "POST", { label: "Other", start: "2026-08-01T00:00:00Z" })).body.data

      const list = yield* api("/api/3/annotations")
      assert.deepStrictEqual(list.body.data.map((a: any) => a.id), [created.id, other.id])
      assert.deepStrictEqual((yield* api("/api/3/annotations?category=Findry")).body.data.map((a: any) => a.id), [
        created.id
      ])
      assert.deepStrictEqual((yield* api("/api/3/annotations?chart_id=abc123")).body.data.map((a: any) => a.id), [
        created.id
      ])
      assert.strictEqual((yield* api("/api/3/annotations?chart_id=abc123&category=Findry")).status, 400)
      const window = yield* api(`/api/3/annotations?start=${encodeURIComponent("2026-07-15T00:00:00Z")}`)
      assert.deepStrictEqual(window.body.data.map((a: any) => a.id), [other.id])

      const got = yield* api(`/api/3/annotations/${created.id}`)
      assert.deepStrictEqual(got.body, { data: created })

      const updated = yield* api(`/api/3/annotations/${created.id}`, "PUT", {
        label: "▲ Shipped",
        chart_id: null,
        end: null
      })
      assert.strictEqual(updated.status, 200)
      assert.deepStrictEqual(updated.body.data, { ...created, label: "▲ Shipped", chart_id: null, end: null })
      assert.strictEqual((yield* api(`/api/3/annotations/${created.id}`, "PUT", { category: "Nope" })).status, 404)
      assert.strictEqual((yield* api(`/api/3/annotations/999`, "PUT", { label: "x" })).status, 404)
      assert.strictEqual((yield* api(`/api/3/annotations/abc`)).status, 400)

      const deleted = yield* api(`/api/3/annotations/${created.id}`, "DELETE")
      assert.deepStrictEqual(deleted.body, { success: true })
      assert.strictEqual(deleted.headers.get("content-length"), "17")
      assert.strictEqual((yield* api(`/api/3/annotations/${created.id}`)).status, 404)
      assert.strictEqual((yield* api(`/api/3/annotations/${created.id}`, "DELETE")).status, 404)
      assert.deepStrictEqual((yield* emulator.annotations("notes")).map((a) => a.id), [other.id])
    }))

  it.scoped("the category key switches to the docs' `name` variant", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup
      yield* emulator.setSwitches({ annotationCategoryKey: "name" })
      const created = yield* api("/api/3/annotations", "POST", { label: "x", start: "2026-06-15T00:00:00+00:00" })
      assert.deepStrictEqual(created.body.data.category, { id: 1, name: "Uncategorized" })
      assert.deepStrictEqual((yield* api("/api/3/annotation-categories")).body, {
        data: [{ id: 1, name: "Uncategorized" }]
      })
    }))
})

describe("annotation categories", () => {
  it.scoped("list, create (409 on duplicate), get, rename, bulk assign, delete", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      assert.deepStrictEqual((yield* api("/api/3/annotation-categories")).body, {
        data: [{ id: 1, category: "Uncategorized" }]
      })
      const created = yield* api("/api/3/annotation-categories", "POST", { category: "Findry" })
      assert.strictEqual(created.status, 200)
      assert.deepStrictEqual(created.body, { data: { id: 1247, category: "Findry" } })
      const duplicate = yield* api("/api/3/annotation-categories", "POST", { category: "Findry" })
      assert.strictEqual(duplicate.status, 409)
      assert.strictEqual((yield* api("/api/3/annotation-categories", "POST", {})).status, 400)
      assert.deepStrictEqual((yield* api("/api/3/annotation-categories?category=Findry")).body, {
        data: [{ id: 1247, category: "Findry" }]
      })
      assert.strictEqual((yield* api("/api/3/annotation-categories?category=Nope")).status, 404)
      assert.deepStrictEqual((yield* api("/api/3/annotation-categories/1247")).body, {
        data: { id: 1247, category: "Findry" }
      })

      const renamed = yield* api("/api/3/annotation-categories/1247", "PUT", { category: "Decisions" })
      assert.deepStrictEqual(renamed.body, { data: { id: 1247, category: "Decisions" } })
      const note = (yield* api("/api/3/annotations", "POST", { label: "n", start: "2026-06-15T00:00:00Z" })).body.data
      const bulk = yield* api("/api/3/annotation-categories/bulk/1247", "PUT", { annotation_ids: [note.id] })
      assert.deepStrictEqual(bulk.body.data.map((a: any) => a.category), [{ id: 1247, category: "Decisions" }])

      assert.deepStrictEqual((yield* api("/api/3/annotation-categories/1247", "DELETE")).body, { success: true })
      assert.strictEqual((yield* api("/api/3/annotation-categories/1247")).status, 404)
      assert.deepStrictEqual((yield* api(`/api/3/annotations/${note.id}`)).body.data.category, {
        id: 1,
        category: "Uncategorized"
      })
    }))
})

describe("annotations v2", () => {
  it.scoped("GET /api/2/annotations lists the same store as {data:[{id,date,label,details}]}", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup
      const project = yield* emulator.project("notes")
      const created = (yield* api("/api/3/annotations", "POST", {
        label: "Launch",
        start: "2026-09-01T08:00:00+00:00",
        details: "My annotation"
      })).body.data
      const list = yield* api("/api/2/annotations")
      assert.deepStrictEqual(list.body, {
        data: [{ id: created.id, date: "2026-09-01", label: "Launch", details: "My annotation" }]
      })
      const v2 = yield* api(`/api/2/annotations?app_id=${project.appId}&date=2026-09-16&label=Release`, "POST")
      assert.deepStrictEqual(v2.body, {
        annotation: { id: created.id + 1, date: "2026-09-16", label: "Release", details: "" },
        success: true
      })
      assert.strictEqual((yield* api(`/api/2/annotations?app_id=1&date=2026-09-16&label=x`, "POST")).status, 400)
      assert.deepStrictEqual((yield* api(`/api/2/annotations?id=${created.id}`)).body.data.length, 1)
    }))
})
