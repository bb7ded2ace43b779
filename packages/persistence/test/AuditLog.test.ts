import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AuditLog } from "../src/AuditLog.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { seedWorkspace } from "./fixtures.js"

describe("AuditLog", () => {
  layer(Layer.mergeAll(AuditLog.Default, WorkspacesRepo.Default).pipe(Layer.provideMerge(TestSqlLive())), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("pages newest first with a cursor, every entry once, and only the workspace's own", () =>
      Effect.gen(function*() {
        const audit = yield* AuditLog
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        for (let n = 0; n < 7; n++) {
          yield* audit.record({ workspaceId: a.workspaceId, actorId: "admin-1", action: `a.${n}`, details: { n } })
          if (n % 3 === 0) yield* audit.record({ workspaceId: b.workspaceId, actorId: "admin-2", action: `b.${n}` })
        }
        const pages: Array<ReadonlyArray<string>> = []
        let cursor: string | null = null
        for (;;) {
          const page: { entries: ReadonlyArray<{ action: string }>; nextCursor: string | null } = yield* audit.list(
            a.workspaceId,
            { limit: 3, cursor }
          )
          pages.push(page.entries.map((entry) => entry.action))
          cursor = page.nextCursor
          if (cursor === null) break
        }
        assert.deepStrictEqual(pages, [["a.6", "a.5", "a.4"], ["a.3", "a.2", "a.1"], ["a.0"]])
        const exact = yield* audit.list(b.workspaceId, { limit: 3, cursor: null })
        assert.deepStrictEqual(exact.entries.map((entry) => entry.action), ["b.6", "b.3", "b.0"])
        assert.isNull(exact.nextCursor, "no empty last page")
        const first = (yield* audit.list(a.workspaceId, { limit: 1, cursor: null })).entries[0]!
        assert.deepStrictEqual(first.details, { n: 6 })
        assert.strictEqual(first.actorId, "admin-1")
      }))
  })
})
