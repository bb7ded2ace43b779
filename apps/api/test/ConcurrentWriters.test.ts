import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { AnnotationRecordsRepo } from "@findry/persistence"
import { Effect, Fiber } from "effect"
import { amplitudeKeys, clientAs, workspaceOf } from "./support/Client.js"
import { eventually } from "./support/Eventually.js"
import { ApiTestLive, freshUser } from "./support/TestApi.js"
import { openTransaction, someoneWaitsOnALock } from "./support/Transactions.js"

const onRealPostgres = process.env.TEST_DATABASE_URL !== undefined
const US = DEMO_PROJECTS.us

describe("concurrent writers of one connection", () => {
  layer(ApiTestLive(), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect.skipIf(!onRealPostgres)(
      "an admin's toggle and the scheduler's push health, interleaved, both keep their fields",
      () =>
        Effect.gen(function*() {
          const admin = freshUser("admin")
          const workspaceId = yield* workspaceOf(admin)
          const path = { workspaceId }
          const client = yield* clientAs(admin)
          yield* client.amplitudeConnection.connect({ path, payload: amplitudeKeys(US) })
          const sql = yield* SqlClient.SqlClient
          const records = yield* AnnotationRecordsRepo

          // The scheduler's write holds the row while the toggle has read it and waits to write it.
          const scheduler = yield* openTransaction(
            sql`SELECT 1 FROM integrations WHERE workspace_id = ${workspaceId} FOR UPDATE`
          )
          const toggle = yield* Effect.fork(
            client.amplitudeConnection.update({ path, payload: { annotationsEnabled: false } })
          )
          yield* eventually(someoneWaitsOnALock, "10 seconds")
          const failedAt = "2026-12-03T09:00:00.000Z"
          yield* scheduler.commit(
            records.setPushHealth(workspaceId, {
              status: "failing",
              reason: "Amplitude rejected the stored keys",
              failedAt,
              lastPushedAt: null
            })
          )
          yield* Fiber.join(toggle)

          const view = yield* client.amplitudeConnection.get({ path })
          assert.isFalse(view.annotationsEnabled, "the toggle was kept")
          assert.strictEqual(view.annotationPush.status, "failing", "the push health was kept")
          assert.strictEqual(view.annotationPush.failedAt?.toISOString(), failedAt)
        }).pipe(Effect.scoped, Effect.provide(AnnotationRecordsRepo.Default))
    )
  })
})
