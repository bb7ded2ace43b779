import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { makeFairSemaphore } from "../src/index.js"

/** Forks `count` fibers that each hold a permit until `open` completes, recording the order they got in. */
const queueUp = (
  semaphore: Effect.Effect.Success<ReturnType<typeof makeFairSemaphore>>,
  count: number,
  open: Deferred.Deferred<void>,
  order: Array<number>
) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) =>
      Effect.fork(semaphore.withPermit(Effect.sync(() => order.push(i)).pipe(Effect.zipRight(Deferred.await(open)))))
        .pipe(
          // Each fiber is in line before the next one asks.
          Effect.tap(() => Effect.yieldNow())
        )
  )

describe("FairSemaphore", () => {
  it.effect("lets at most its permits in at once and every waiter in eventually", () =>
    Effect.gen(function*() {
      const semaphore = yield* makeFairSemaphore(3)
      let inside = 0
      let peak = 0
      yield* Effect.forEach(
        Array.from({ length: 50 }),
        () =>
          semaphore.withPermit(
            Effect.sync(() => {
              inside++
              peak = Math.max(peak, inside)
            }).pipe(Effect.zipRight(Effect.yieldNow()), Effect.ensuring(Effect.sync(() => inside--)))
          ),
        { concurrency: "unbounded", discard: true }
      )
      assert.strictEqual(peak, 3)
      assert.strictEqual(semaphore.taken(), 0)
      assert.strictEqual(semaphore.waiting(), 0)
    }))

  it.effect("gives permits in the order they were asked for", () =>
    Effect.gen(function*() {
      const semaphore = yield* makeFairSemaphore(1)
      const open = yield* Deferred.make<void>()
      const order: Array<number> = []
      const fibers = yield* queueUp(semaphore, 6, open, order)
      assert.deepStrictEqual(order, [0])
      assert.strictEqual(semaphore.waiting(), 5)
      yield* Deferred.succeed(open, undefined)
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(order, [0, 1, 2, 3, 4, 5])
    }))

  it.effect("gives the permit back when the work fails, dies or is interrupted", () =>
    Effect.gen(function*() {
      const semaphore = yield* makeFairSemaphore(1)
      const failed = yield* Effect.exit(semaphore.withPermit(Effect.fail("no")))
      const died = yield* Effect.exit(semaphore.withPermit(Effect.die("boom")))
      assert.isTrue(Exit.isFailure(failed) && Exit.isFailure(died))
      assert.strictEqual(semaphore.taken(), 0)
      const held = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        semaphore.withPermit(Deferred.succeed(held, undefined).pipe(Effect.zipRight(Effect.never)))
      )
      yield* Deferred.await(held)
      assert.strictEqual(semaphore.taken(), 1)
      yield* Fiber.interrupt(holder)
      assert.strictEqual(semaphore.taken(), 0)
      assert.strictEqual(yield* semaphore.withPermit(Effect.succeed("next")), "next")
    }))

  it.effect("an interrupted waiter leaves the line without taking a permit", () =>
    Effect.gen(function*() {
      const semaphore = yield* makeFairSemaphore(1)
      const open = yield* Deferred.make<void>()
      const order: Array<number> = []
      const fibers = yield* queueUp(semaphore, 4, open, order)
      yield* Fiber.interrupt(fibers[1]!)
      yield* Fiber.interrupt(fibers[2]!)
      assert.strictEqual(semaphore.waiting(), 1)
      yield* Deferred.succeed(open, undefined)
      yield* Fiber.join(fibers[3]!)
      assert.deepStrictEqual(order, [0, 3])
      assert.strictEqual(semaphore.taken(), 0)
    }))

  it.effect("loses no permit when waiters are interrupted while permits are handed over", () =>
    Effect.gen(function*() {
      const semaphore = yield* makeFairSemaphore(4)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 400 }),
        () => Effect.fork(semaphore.withPermit(Effect.yieldNow())),
        { concurrency: "unbounded" }
      )
      // Every third fiber is interrupted, wherever it is: waiting, just handed a permit, holding one, or done.
      yield* Effect.forEach(fibers.filter((_, i) => i % 3 === 0), (fiber) => Fiber.interrupt(fiber), {
        concurrency: "unbounded",
        discard: true
      })
      yield* Effect.forEach(fibers, (fiber) => Fiber.await(fiber), { discard: true })
      assert.strictEqual(semaphore.taken(), 0)
      assert.strictEqual(semaphore.waiting(), 0)
      // All four permits are still there: four holders at once.
      const inside = yield* Deferred.make<void>()
      let count = 0
      yield* Effect.forEach(
        Array.from({ length: 4 }),
        () =>
          semaphore.withPermit(
            Effect.suspend(() => ++count === 4 ? Deferred.succeed(inside, undefined) : Effect.void).pipe(
              Effect.zipRight(Deferred.await(inside))
            )
          ),
        { concurrency: "unbounded", discard: true }
      )
    }))

  it.effect(
    "wakes one waiter per freed permit: 20,000 fibers pass 16 permits in linear time",
    () =>
      Effect.gen(function*() {
        // Effect's own semaphore wakes every waiter on each release: 1,000 fibers take ~10 s of CPU, 4,000 run out of
        // heap. The deadline is generous for linear work and far short of quadratic work.
        const semaphore = yield* makeFairSemaphore(16)
        let done = 0
        yield* Effect.forEach(
          Array.from({ length: 20_000 }),
          () => semaphore.withPermit(Effect.yieldNow().pipe(Effect.zipRight(Effect.sync(() => done++)))),
          { concurrency: "unbounded", discard: true }
        ).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "quadratic" }))
        assert.strictEqual(done, 20_000)
      }),
    { timeout: 30_000 }
  )
})
