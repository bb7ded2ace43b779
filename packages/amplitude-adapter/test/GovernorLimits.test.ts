import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Fiber, Option, Queue, TestClock } from "effect"
import { AmplitudeGovernor } from "../src/index.js"

const governorWith = (limits: Parameters<typeof AmplitudeGovernor.layer>[0]) =>
  Effect.provide(AmplitudeGovernor, AmplitudeGovernor.layer(limits))

describe("governor (virtual clock)", () => {
  it.effect("the hourly budget: interactive fails with the seconds until the window frees, then fits again", () =>
    Effect.gen(function*() {
      const governor = yield* governorWith({ queryBudget: 100 })
      yield* Effect.asVoid(governor.charge("p", 60, false))
      yield* TestClock.adjust(Duration.minutes(20))
      yield* Effect.asVoid(governor.charge("p", 40, false))
      const first = yield* Effect.flip(Effect.asVoid(governor.charge("p", 1, false)))
      assert.strictEqual(first.retryAfterSeconds, 40 * 60)
      yield* TestClock.adjust(Duration.minutes(40))
      yield* Effect.asVoid(governor.charge("p", 60, false))
      assert.strictEqual(yield* governor.costUsed("p"), 100)
      yield* Effect.asVoid(governor.charge("q", 100, false))
      const huge = yield* Effect.flip(Effect.asVoid(governor.charge("p", 101, false)))
      assert.match(huge.message, /more than Amplitude's hourly budget/)
    }))

  it.effect("the hourly budget slides: thousands of small charges, refunds for refused requests", () =>
    Effect.gen(function*() {
      const governor = yield* governorWith({ queryBudget: 3000 })
      for (let minute = 0; minute < 120; minute++) {
        for (let i = 0; i < 25; i++) yield* Effect.asVoid(governor.charge("p", 1, false))
        yield* TestClock.adjust(Duration.minutes(1))
      }
      // Charges made exactly one hour ago have left the window.
      assert.strictEqual(yield* governor.costUsed("p"), 59 * 25)
      const refund = yield* governor.charge("p", 1000, false)
      assert.strictEqual(yield* governor.costUsed("p"), 59 * 25 + 1000)
      yield* refund
      assert.strictEqual(yield* governor.costUsed("p"), 59 * 25)
      yield* TestClock.adjust(Duration.hours(1))
      assert.strictEqual(yield* governor.costUsed("p"), 0)
    }))

  it.effect("the hourly budget: background waits until the window has room", () =>
    Effect.gen(function*() {
      const governor = yield* governorWith({ queryBudget: 100 })
      yield* Effect.asVoid(governor.charge("p", 100, true))
      const waiting = yield* Effect.fork(Effect.asVoid(governor.charge("p", 10, true)))
      yield* TestClock.adjust(Duration.minutes(59))
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiting)))
      yield* TestClock.adjust(Duration.minutes(1))
      yield* Fiber.join(waiting)
      assert.strictEqual(yield* governor.costUsed("p"), 10)
    }))

  it.effect("Experiment API pacing: the 101st request within a second waits for the window", () =>
    Effect.gen(function*() {
      const governor = yield* governorWith({ experimentRequestsPerSecond: 100 })
      yield* Effect.all(Array.from({ length: 100 }, () => governor.pace("m")))
      const next = yield* Effect.fork(governor.pace("m"))
      yield* TestClock.adjust(Duration.millis(999))
      assert.isTrue(Option.isNone(yield* Fiber.poll(next)))
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(next)
      yield* governor.pace("other")
    }))

  it.effect("concurrency: at most N per project, background at most N minus the interactive reserve", () =>
    Effect.gen(function*() {
      const governor = yield* governorWith({ concurrentRequests: 5, reservedForInteractive: 1 })
      const started = yield* Queue.unbounded<string>()
      const gate = yield* Deferred.make<void>()
      const request = (name: string) => Effect.zipRight(Queue.offer(started, name), Deferred.await(gate))
      const run = (priority: "interactive" | "background", count: number) =>
        Effect.fork(Effect.all(
          Array.from({ length: count }, (_, i) => governor.throttle("p", priority)(request(`${priority}-${i}`))),
          { concurrency: "unbounded" }
        ))

      const background = yield* run("background", 10)
      assert.strictEqual((yield* Queue.takeBetween(started, 4, 4)).length, 4)
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(yield* Queue.size(started), 0, "a fifth background request must wait")

      const interactive = yield* run("interactive", 3)
      assert.deepStrictEqual(yield* Queue.takeBetween(started, 1, 1), Chunk.of("interactive-0"))
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(yield* Queue.size(started), 0, "all five slots are taken")
      assert.strictEqual(governor.peakInFlight("p"), 5)

      yield* governor.throttle("other", "background")(Effect.void)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(background)
      yield* Fiber.join(interactive)
      assert.strictEqual(governor.peakInFlight("p"), 5)
    }))

  it.effect("forgets idle projects: 5,000 projects used once leave a bounded footprint, busy ones are kept", () =>
    Effect.gen(function*() {
      const governor = yield* governorWith({ concurrentRequests: 2, reservedForInteractive: 0 })
      const release = yield* Deferred.make<void>()
      const busy = yield* Effect.fork(
        governor.throttle("busy", "background")(Deferred.await(release))
      )
      const waiting = yield* Effect.fork(
        Effect.all([
          governor.throttle("busy", "background")(Deferred.await(release)),
          governor.throttle("busy", "background")(Deferred.await(release))
        ], { concurrency: "unbounded" })
      )
      yield* Effect.yieldNow()
      yield* Effect.asVoid(governor.charge("charged", 500, false))
      for (let i = 0; i < 5_000; i++) {
        const project = `project-${i}`
        yield* governor.throttle(project, "interactive")(Effect.void)
        yield* Effect.asVoid(governor.charge(project, 1, false))
        yield* governor.pace(project)
      }
      yield* TestClock.adjust(Duration.hours(2))
      yield* Effect.asVoid(governor.charge("charged", 500, false))
      assert.isBelow(governor.trackedProjects(), 10, "idle projects were dropped")
      assert.strictEqual(yield* governor.costUsed("charged"), 500, "a charge inside the window was kept")
      // The busy project kept its gate: its waiters still queue behind the two permits.
      assert.strictEqual(governor.peakInFlight("busy"), 2)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(busy)
      yield* Fiber.join(waiting)
      assert.strictEqual(governor.peakInFlight("busy"), 2, "never more than the limit in flight")
    }))
})
