import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { AmplitudeEmulator, DEMO_PROJECTS, generateProjectData, Random } from "../src/index.js"

describe("seeded data", () => {
  it("is deterministic per seed and differs between seeds", () => {
    const options = { seed: "determinism", users: 30, days: 20, experiments: 15 }
    const a = generateProjectData(options)
    const b = generateProjectData(options)
    assert.deepStrictEqual(a, b)
    const c = generateProjectData({ ...options, seed: "other" })
    assert.notDeepEqual(a.events, c.events)
    assert.deepStrictEqual(new Random(42).hex(16), new Random(42).hex(16))
  })

  it("covers the requested days; occurrences are time-sorted, dated by their UTC day, and by known users", () => {
    const data = generateProjectData({ seed: "shape", users: 40, days: 14, endDate: "2026-07-31", experiments: 5 })
    assert.strictEqual(data.days.length, 14)
    assert.deepStrictEqual([data.days[0], data.days[13]], ["2026-07-18", "2026-07-31"])
    const userIds = new Set(data.users.map((u) => u.userId))
    for (const event of data.events) {
      for (let i = 0; i < event.occurrences.length; i++) {
        const o = event.occurrences[i]!
        assert.isTrue(userIds.has(o.userId))
        assert.strictEqual(new Date(o.time).toISOString().slice(0, 10), o.day)
        if (i > 0) assert.isAtLeast(o.time, event.occurrences[i - 1]!.time)
      }
    }
    for (const name of ["Purchase", "View Item"]) {
      const event = data.events.find((e) => e.name === name)!
      assert.isTrue(event.occurrences.every((o) => typeof o.properties["price"] === "number"))
    }
    assert.isTrue(data.sessions.every((s) => s.lengthSeconds > 0 && data.days.includes(s.day)))
    assert.isTrue(data.cohorts.every((c) => /^[a-z0-9]{8}$/.test(c.id) && c.userIds.every((id) => userIds.has(id))))
    assert.isTrue(data.charts.every((c) => /^[a-z0-9]{6}$/.test(c.id)))
    assert.strictEqual(data.experiments.length, 5)
  })

  it.scoped("demo projects: realistic keys, >1,000 experiments on the US project; generated keys have the same form", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator.make({ projects: [{ id: "generated" }] })
      for (const spec of Object.values(DEMO_PROJECTS)) {
        const project = yield* emulator.project(spec.id)
        assert.match(project.apiKey, /^[a-f0-9]{32}$/)
        assert.match(project.secretKey, /^[A-Za-z0-9]{32}$/)
        assert.isTrue(project.managementKeys.every((k) => k.key.startsWith("ampex_")))
      }
      assert.isAbove((yield* emulator.project("demo-us")).data.experiments.length, 1000)
      assert.isFalse((yield* emulator.project("demo-starter")).data.experiments.length > 100)
      const generated = yield* emulator.project("generated")
      assert.match(generated.apiKey, /^[a-f0-9]{32}$/)
      assert.match(generated.secretKey, /^[A-Za-z0-9]{32}$/)
      assert.strictEqual(generated.region, "us")
      const projects = yield* emulator.projects
      assert.deepStrictEqual(projects.map((p) => p.id), ["demo-us", "demo-eu", "demo-starter", "generated"])
      const error = yield* Effect.flip(emulator.project("missing"))
      assert.strictEqual(error._tag, "UnknownProject")
    }))
})
