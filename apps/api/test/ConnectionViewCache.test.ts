import { assert, describe, it } from "@effect/vitest"
import type { AmplitudeConnection, UserId, WorkspaceId } from "@findry/domain"
import { type WorkspaceChange, WorkspaceChanges, WorkspaceChangesLost } from "@findry/persistence"
import { ConfigProvider, Deferred, Effect, Fiber, Layer, Option, Queue, Stream, TestClock } from "effect"
import { ConnectionViewCache } from "../src/amplitude-connection/ConnectionViewCache.js"

type FeedEvent = WorkspaceChange | "lost"

/** The cache over a feed the test writes to: a change, a heartbeat (`Heard`) or the feed's loss. */
const cacheWith = (ttlMillis: number, events: Queue.Queue<FeedEvent> | undefined) =>
  ConnectionViewCache.Default.pipe(
    Layer.provide(Layer.succeed(WorkspaceChanges, {
      feed: events === undefined ? Option.none() : Option.some(
        Stream.fromQueue(events).pipe(
          Stream.mapEffect((event) =>
            event === "lost" ? Effect.fail(new WorkspaceChangesLost({ reason: "test" })) : Effect.succeed(event)
          )
        )
      )
    })),
    Layer.provide(
      Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["FINDRY_CONNECTION_VIEW_TTL_MS", String(ttlMillis)]])))
    )
  )

/** Lets the cache's feed fiber run until `condition` holds; fails after 1,000 turns. */
const until = (condition: Effect.Effect<boolean, never, ConnectionViewCache>) =>
  Effect.gen(function*() {
    for (let turn = 0; turn < 1000; turn++) {
      if (yield* condition) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage("condition not reached")
  })

const listening = Effect.flatMap(ConnectionViewCache, (views) => views.isListening)
const notListening = Effect.map(listening, (on) => !on)

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

const named = (view: AmplitudeConnection) => view.displayName

/** Runs `test` with a cache whose feed has been heard. */
const heard = <A, E>(
  ttlMillis: number,
  test: (events: Queue.Queue<FeedEvent>) => Effect.Effect<A, E, ConnectionViewCache>
) =>
  Effect.gen(function*() {
    const events = yield* Queue.unbounded<FeedEvent>()
    yield* Queue.offer(events, { _tag: "Heard" })
    return yield* Effect.zipRight(until(listening), test(events)).pipe(Effect.provide(cacheWith(ttlMillis, events)))
  })

describe("ConnectionViewCache", () => {
  it.effect("answers a member from the cache until the time-to-live passes, then reads again", () =>
    heard(1000, () =>
      Effect.gen(function*() {
        const views = yield* ConnectionViewCache
        const { read, reads } = countingRead()
        assert.strictEqual(named(yield* views.through(acme, ada, read)), "read 1")
        yield* TestClock.adjust("999 millis")
        assert.strictEqual(named(yield* views.through(acme, ada, read)), "read 1")
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(named(yield* views.through(acme, ada, read)), "read 2")
        assert.strictEqual(reads(), 2)
      })))

  it.effect("keeps views per member and forgets only the workspace changed here or announced by the feed", () =>
    heard(60_000, (events) =>
      Effect.gen(function*() {
        const views = yield* ConnectionViewCache
        const { read, reads } = countingRead()
        yield* views.through(acme, ada, read)
        yield* views.through(acme, bob, read)
        yield* views.through(globex, ada, read)
        assert.strictEqual(reads(), 3)
        yield* views.invalidate(acme)
        assert.strictEqual(named(yield* views.through(acme, ada, read)), "read 4")
        assert.strictEqual(named(yield* views.through(acme, bob, read)), "read 5")
        assert.strictEqual(named(yield* views.through(globex, ada, read)), "read 3")

        yield* Queue.offer(events, { _tag: "Changed", workspaceId: globex })
        yield* until(Effect.map(views.through(globex, ada, read), (view) => named(view) === "read 6"))
        assert.strictEqual(named(yield* views.through(acme, ada, read)), "read 4")
      })))

  it.effect("does not keep what a read saw when a change landed while it was running", () =>
    heard(60_000, () =>
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
        assert.strictEqual(named(yield* Fiber.join(inFlight)), "before the change")
        const { read } = countingRead()
        assert.strictEqual(named(yield* views.through(acme, ada, read)), "read 1")
      })))

  it.effect("keeps nothing from a failed read", () =>
    heard(60_000, () =>
      Effect.gen(function*() {
        const views = yield* ConnectionViewCache
        const failed = yield* Effect.flip(views.through(acme, ada, Effect.fail("not a member" as const)))
        assert.strictEqual(failed, "not a member")
        const { read, reads } = countingRead()
        yield* views.through(acme, ada, read)
        assert.strictEqual(reads(), 1)
      })))

  it.effect("forgets everything and reads every time once the feed is lost, until it is heard again", () =>
    heard(60_000, (events) =>
      Effect.gen(function*() {
        const views = yield* ConnectionViewCache
        const { read, reads } = countingRead()
        yield* views.through(acme, ada, read)
        yield* views.through(acme, ada, read)
        assert.strictEqual(reads(), 1)

        yield* Queue.offer(events, "lost")
        yield* until(notListening)
        yield* views.through(acme, ada, read)
        yield* views.through(acme, ada, read)
        assert.strictEqual(reads(), 3, "no view is reused while nothing is heard")

        yield* Queue.offer(events, { _tag: "Heard" })
        yield* TestClock.adjust("2 seconds")
        yield* until(listening)
        yield* views.through(acme, ada, read)
        yield* views.through(acme, ada, read)
        assert.strictEqual(reads(), 4)
      })))

  it.effect("never reuses a view without a feed, or with a time-to-live of 0", () =>
    Effect.gen(function*() {
      for (const [ttl, withFeed] of [[60_000, false], [0, true]] as const) {
        const events = yield* Queue.unbounded<FeedEvent>()
        yield* Queue.offer(events, { _tag: "Heard" })
        const { read, reads } = countingRead()
        yield* Effect.gen(function*() {
          const views = yield* ConnectionViewCache
          for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
          assert.isFalse(yield* views.isListening)
          yield* views.through(acme, ada, read)
          yield* views.through(acme, ada, read)
        }).pipe(Effect.provide(cacheWith(ttl, withFeed ? events : undefined)))
        assert.strictEqual(reads(), 2, `ttl ${ttl}, feed ${withFeed}`)
      }
    }))

  it.effect("holds at most 10,000 views, dropping the oldest workspace's first", () =>
    heard(60_000, () =>
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
      })))
})
