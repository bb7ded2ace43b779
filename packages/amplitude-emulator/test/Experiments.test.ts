import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator, DEMO_PROJECTS } from "../src/index.js"
import { bearer, call, type Reply } from "./helpers.js"

const us = DEMO_PROJECTS.us
const key = us.managementKeys[0]

layer(AmplitudeEmulator.layer())("Experiment Management API (demo US project)", (it) => {
  it.effect("pages through every active experiment with limit/cursor; nextCursor is null on the last page", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* emulator.project(us.id)
      const active = project.data.experiments.filter((e) => !e.archived)
      assert.isAbove(active.length, 1000)
      const pages: Array<Reply> = []
      let cursor: string | null = null
      do {
        const query: string = cursor === null ? "limit=500" : `limit=500&cursor=${encodeURIComponent(cursor)}`
        const reply: Reply = yield* call(`${emulator.urls.experimentUs}/api/1/experiments?${query}`, {
          headers: bearer(key)
        })
        assert.strictEqual(reply.status, 200)
        pages.push(reply)
        cursor = reply.body.nextCursor
      } while (cursor !== null)
      assert.strictEqual(pages.length, Math.ceil(active.length / 500))
      assert.property(pages[pages.length - 1]!.body, "nextCursor")
      assert.deepStrictEqual(pages.flatMap((p) => p.body.experiments.map((e: any) => e.id)), active.map((e) => e.id))
      const created = pages.flatMap((p) => p.body.experiments.map((e: any) => e.createdAt))
      assert.deepStrictEqual(created, [...created].sort().reverse())
    }))

  it.effect("caps limit at 1000 (also the default) and includes archived only on request", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* emulator.project(us.id)
      const big = yield* call(`${emulator.urls.experimentUs}/api/1/experiments?limit=5000`, { headers: bearer(key) })
      assert.strictEqual(big.body.experiments.length, 1000)
      assert.isString(big.body.nextCursor)
      const all = yield* call(`${emulator.urls.experimentUs}/api/1/experiments`, { headers: bearer(key) })
      assert.strictEqual(all.body.experiments.length, 1000)
      const archived = project.data.experiments.filter((e) => e.archived)
      assert.isAbove(archived.length, 0)
      assert.isFalse(all.body.experiments.some((e: any) => e.archived))
      const withArchived = yield* call(
        `${emulator.urls.experimentUs}/api/1/experiments?limit=1000&includeArchived=true`,
        { headers: bearer(key) }
      )
      assert.deepStrictEqual(
        withArchived.body.experiments.map((e: any) => e.id),
        project.data.experiments.slice(0, 1000).map((e) => e.id)
      )
      const bad = yield* call(`${emulator.urls.experimentUs}/api/1/experiments?limit=0`, { headers: bearer(key) })
      assert.strictEqual(bad.status, 400)
      const badCursor = yield* call(`${emulator.urls.experimentUs}/api/1/experiments?cursor=zzz`, {
        headers: bearer(key)
      })
      assert.strictEqual(badCursor.status, 400)
    }))

  it.effect("GET /api/1/experiments/:id returns the bare object; unknown id is 404", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* emulator.project(us.id)
      const experiment = project.data.experiments[3]!
      const reply = yield* call(`${emulator.urls.experimentUs}/api/1/experiments/${experiment.id}`, {
        headers: bearer(key)
      })
      assert.deepStrictEqual(reply.body, JSON.parse(JSON.stringify(experiment)))
      for (
        const field of [
          "id",
          "projectId",
          "deployments",
          "key",
          "name",
          "decision",
          "variants",
          "state",
          "startDate",
          "endDate",
          "experimentType",
          "deleted",
          "createdAt",
          "lastModifiedAt"
        ]
      ) assert.property(reply.body, field)
      assert.strictEqual(reply.body.projectId, "829528")
      const missing = yield* call(`${emulator.urls.experimentUs}/api/1/experiments/1`, { headers: bearer(key) })
      assert.strictEqual(missing.status, 404)
    }))
})

describe("experiment switches", () => {
  it.scoped("experimentsLastPageCursor=absent omits nextCursor on the last page", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator.make({
        demoProjects: false,
        switches: { experimentsLastPageCursor: "absent" },
        projects: [{ id: "x", managementKeys: ["ampex_x"], data: { users: 3, days: 2, experiments: 3 } }]
      })
      const first = yield* call(`${emulator.urls.experimentUs}/api/1/experiments?limit=2`, {
        headers: bearer("ampex_x")
      })
      assert.isString(first.body.nextCursor)
      const last = yield* call(
        `${emulator.urls.experimentUs}/api/1/experiments?limit=2&cursor=${first.body.nextCursor}`,
        { headers: bearer("ampex_x") }
      )
      assert.notProperty(last.body, "nextCursor")
    }))
})
