import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import type { UserId, WorkspaceId } from "@findry/domain"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import { TestDatabase, TestSqlLive } from "../src/Testing.js"
import { type WorkspaceChange, WorkspaceChanges } from "../src/WorkspaceChanges.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"

describe("workspace change feed", () => {
  layer(TestSqlLive(), { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("announces every change to a workspace's integration row and members, and is heard alive", () =>
      Effect.gen(function*() {
        const database = yield* TestDatabase
        const { feed } = yield* WorkspaceChanges
        if (database.kind === "pglite") {
          assert.isTrue(Option.isNone(feed), "the embedded database has no connection to listen on")
          return
        }
        const sql = yield* SqlClient.SqlClient
        const workspaces = yield* WorkspacesRepo
        const acme = yield* workspaces.create("Acme", "ada" as UserId)
        const globex = yield* workspaces.create("Globex", "gus" as UserId)

        const changes: Array<WorkspaceChange> = []
        const heard = (condition: (seen: ReadonlyArray<WorkspaceChange>) => boolean) =>
          Effect.gen(function*() {
            const deadline = Date.now() + 10_000
            while (!condition(changes)) {
              if (Date.now() > deadline) return yield* Effect.dieMessage(`not heard: ${JSON.stringify(changes)}`)
              yield* Effect.sleep("20 millis")
            }
          })
        const listening = yield* Option.getOrThrow(feed).pipe(
          Stream.runForEach((change) => Effect.sync(() => changes.push(change))),
          Effect.forkScoped
        )
        yield* heard((seen) => seen.some((change) => change._tag === "Heard"))

        const changedIds = () =>
          changes.flatMap((change) => change._tag === "Changed" ? [change.workspaceId as string] : [])
        const announced = (workspaceId: WorkspaceId, count: number) =>
          heard(() => changedIds().filter((id) => id === workspaceId).length >= count)

        yield* sql`
          INSERT INTO integrations (id, workspace_id, provider, status, settings)
          VALUES (gen_random_uuid(), ${acme.id}, 'amplitude', 'disconnected', '{}')`
        yield* announced(acme.id, 1)
        yield* sql`UPDATE integrations SET display_name = 'Renamed' WHERE workspace_id = ${acme.id}`
        yield* announced(acme.id, 2)
        yield* workspaces.setRole(globex.id, "bob" as UserId, "member")
        yield* announced(globex.id, 1)
        yield* sql`DELETE FROM workspace_members WHERE workspace_id = ${globex.id} AND user_id = 'bob'`
        yield* announced(globex.id, 2)
        yield* sql`DELETE FROM integrations WHERE workspace_id = ${acme.id}`
        yield* announced(acme.id, 3)
        yield* sql`UPDATE integrations SET display_name = 'Nothing' WHERE workspace_id = ${acme.id}`
        yield* sql`UPDATE workspaces SET name = 'Not an integration or member change' WHERE id = ${acme.id}`
        yield* workspaces.setRole(globex.id, "cy" as UserId, "member")
        yield* announced(globex.id, 3)
        assert.deepStrictEqual(
          changedIds(),
          [acme.id, acme.id, globex.id, globex.id, acme.id, globex.id],
          "statements that change no integration row or member announce nothing"
        )
        yield* Fiber.interrupt(listening)
      }).pipe(Effect.provide(WorkspacesRepo.Default), Effect.scoped))

    it.effect("fails with WorkspaceChangesLost when its connection is killed, and listens again when rerun", () =>
      Effect.gen(function*() {
        const database = yield* TestDatabase
        if (database.kind === "pglite") return
        const sql = yield* SqlClient.SqlClient
        const feed = Option.getOrThrow((yield* WorkspaceChanges).feed)
        const firstHeard = Stream.runHead(Stream.filter(feed, (change) => change._tag === "Heard"))
        assert.isTrue(Option.isSome(yield* firstHeard))

        const alive = yield* Deferred.make<void>()
        const listening = yield* Effect.fork(Stream.runForEach(feed, () => Deferred.succeed(alive, undefined)))
        yield* Deferred.await(alive)
        const killed = yield* sql<{ pid: number }>`
          SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN%'`
        assert.isAtLeast(killed.length, 1, "the listening connection was found")
        const startedAt = Date.now()
        const lost = yield* Fiber.join(listening).pipe(Effect.flip, Effect.timeout("15 seconds"))
        assert.strictEqual(lost._tag, "WorkspaceChangesLost")
        assert.isBelow(Date.now() - startedAt, 9_000, "noticed within the 6 s silence limit")

        assert.isTrue(Option.isSome(yield* firstHeard), "heard again on a new connection")
      }).pipe(Effect.orDie))
  })
})
