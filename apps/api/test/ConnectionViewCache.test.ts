import { assert, describe, it } from "@effect/vitest"
import type { AmplitudeConnection, UserId, WorkspaceId } from "@findry/domain"
import { ConfigProvider, Deferred, Effect, Fiber, Layer, TestClock } from "effect"
import { ConnectionViewCache } from "../src/ConnectionViewCache.js"

const withTtl = (ttlMillis: number) =>
  ConnectionViewCache.Default.pipe(
    Layer.provide(
      Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["FINDRY_CONNECTION_VIEW_TTL_MS", String(ttlMillis)]])))
    )
  )

const acme = "11111111-1111-4111-8111-111111111111" as WorkspaceId
const globex = "22222222-2222-4222-8222-222222222222" as WorkspaceId
const ada = "ada" as UserId
const bob = "bob" as UserId

/** A read that counts how often it ran and answers a view named after the count. */
const countingRead = () => {
  let reads = 0
  const read = Effect.sync(() => ({ displayName: `read ${++reads}` }) as unknown as AmplitudeConnection)
  return { read, reads: () => reads }
}

describe("ConnectionViewCache", () => {
  it.effect("answers a member from the cache until the time-to-live passes, then reads again", () =>
    Effect.gen(function*() {
      const views = yield* ConnectionViewCache
      const { read, reads } = countingRead()
      assert.strictEqual((yield* views.through(acme, ada, read)).displayName, "read 1")
      yield* TestClock.adjust("999 millis")
      assert.strictEqual((yield* views.through(acme, ada, read)).displayName, "read 1")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* views.through(acme, ada, read)).displayName, "read 2")
      assert.strictEqual(reads(), 2)
    }).pipe(Effect.provide(withTtl(1000))))

  it.effect("keeps views per member and forgets only the invalidated workspace", () =>
    Effect.gen(function*() {
      const views = yield* ConnectionViewCache
      const { read, reads } = countingRead()
      yield* views.through(acme, ada, read)
      yield* views.through(acme, bob, read)
      yield* views.through(globex, ada, read)
      assert.strictEqual(reads(), 3)
      yield* views.invalidate(acme)
      assert.strictEqual((yield* views.through(acme, ada, read)).displayName, "read 4")
      assert.strictEqual((yield* views.through(acme, bob, read)).displayName, "read 5")
      assert.strictEqual((yield* views.through(globex, ada, read)).displayName, "read 3")
    }).pipe(Effect.provide(withTtl(60_000))))

  it.effect("does not keep what a read saw when a change landed while it was running", () =>
    Effect.gen(function*() {
      const views = yield* ConnectionViewCache
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const slowRead = Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Deferred.await(release)),
        Effect.as({ displayName: "before the change" } as unknown as AmplitudeConnection)
      )
      const inFlight = yield* Effect.fork(views.through(acme, ada, slowRead))
      yield* Deferred.await(started)
      yield* views.invalidate(acme)
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual((yield* Fiber.join(inFlight)).displayName, "before the change")
      const { read } = countingRead()
      assert.strictEqual((yield* views.through(acme, ada, read)).displayName, "read 1")
    }).pipe(Effect.provide(withTtl(60_000))))

  it.effect("keeps nothing from a failed read", () =>
    Effect.gen(function*() {
      const views = yield* ConnectionViewCache
      const failed = yield* Effect.flip(views.through(acme, ada, Effect.fail("not a member" as const)))
      assert.strictEqual(failed, "not a member")
      const { read, reads } = countingRead()
      yield* views.through(acme, ada, read)
      assert.strictEqual(reads(), 1)
    }).pipe(Effect.provide(withTtl(60_000))))

  it.effect("reads every time when the time-to-live is 0", () =>
    Effect.gen(function*() {
      const views = yield* ConnectionViewCache
      const { read, reads } = countingRead()
      yield* views.through(acme, ada, read)
      yield* views.through(acme, ada, read)
      assert.strictEqual(reads(), 2)
    }).pipe(Effect.provide(withTtl(0))))

  it.effect("holds at most 10,000 views, dropping the oldest workspace's first", () =>
    Effect.gen(function*() {
      const views = yield* ConnectionViewCache
      const { read, reads } = countingRead()
      const workspace = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` as WorkspaceId
      for (let i = 0; i <= 10_000; i++) yield* views.through(workspace(i), ada, read)
      assert.strictEqual(reads(), 10_001)
      yield* views.through(workspace(10_000), ada, read)
      yield* views.through(workspace(1), ada, read)
      assert.strictEqual(reads(), 10_001, "the newest and the second oldest are still cached")
      yield* views.through(workspace(0), ada, read)
      assert.strictEqual(reads(), 10_002, "the oldest made room")
    }).pipe(Effect.provide(withTtl(60_000))))
})
