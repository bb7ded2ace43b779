import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { MigrationsLive, PgLive, WorkspaceChangesUnavailable } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { Effect, Layer, Redacted } from "effect"
import { eventually } from "./support/Eventually.js"
import { makeTcpProxy } from "./support/TcpProxy.js"
import { apiOn } from "./support/TestApi.js"

const readiness = Effect.gen(function*() {
  const response = yield* HttpClient.get("/readyz")
  const body = yield* response.json
  return { status: response.status, body: body as Record<string, unknown> }
})

const expectStatus = (status: number) =>
  readiness.pipe(
    Effect.filterOrFail((result) => result.status === status, (result) => `still ${result.status}`)
  )

describe("/readyz", () => {
  it.live("turns 503 while the database is unreachable and 200 again when it is back", () =>
    Effect.gen(function*() {
      const database = yield* makeTestDatabase
      const target = new URL(Redacted.value(database.url))
      const proxy = yield* makeTcpProxy({ host: target.hostname, port: Number(target.port) })
      const viaProxy = new URL(target)
      viaProxy.port = String(proxy.port)

      const server = apiOn(
        MigrationsLive.pipe(
          Layer.provideMerge(PgLive(Redacted.make(viaProxy.toString()), { maxConnections: 1 })),
          Layer.merge(WorkspaceChangesUnavailable)
        )
      )

      yield* Effect.gen(function*() {
        const ready = yield* readiness
        assert.strictEqual(ready.status, 200)
        assert.deepStrictEqual(ready.body, {
          status: "ready",
          checks: { database: "ok", migrations: "ok", scheduler: "ok" }
        })

        yield* proxy.cut
        const down = yield* eventually(expectStatus(503))
        assert.strictEqual(down.body._tag, "NotReady")
        assert.deepStrictEqual(down.body.failing, ["database", "migrations", "scheduler"])

        yield* proxy.restore
        yield* eventually(expectStatus(200))
      }).pipe(Effect.provide(server))
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("answers /healthz, /openapi.json and /docs", () =>
    Effect.gen(function*() {
      const database = yield* makeTestDatabase
      const server = apiOn(
        MigrationsLive.pipe(
          Layer.provideMerge(PgLive(database.url, { maxConnections: 1 })),
          Layer.merge(WorkspaceChangesUnavailable)
        )
      )
      yield* Effect.gen(function*() {
        const health = yield* HttpClient.get("/healthz").pipe(Effect.flatMap(HttpClientResponse.filterStatusOk))
        assert.deepStrictEqual(yield* health.json, { status: "ok" })
        const openapi = yield* HttpClient.get("/openapi.json").pipe(Effect.flatMap((r) => r.json))
        assert.property((openapi as { paths: object }).paths, "/readyz")
        const docs = yield* HttpClient.get("/docs")
        assert.strictEqual(docs.status, 200)
        assert.include(yield* docs.text, "swagger")
      }).pipe(Effect.provide(server))
    }).pipe(Effect.scoped))
})
