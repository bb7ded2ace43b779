import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, FiberId } from "effect"
import { PushFatal, PushResult, PushRetryable, settleAttempt } from "../src/index.js"

const pushed = new PushResult({ status: "pushed", amplitudeAnnotationId: 7, reason: null })

describe("settleAttempt: what an attempt may leave in the workflow's history", () => {
  it.effect("keeps a result and a typed failure as they are", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* settleAttempt(Effect.succeed(pushed)), pushed)
      const fatal = new PushFatal({ reason: "keys revoked" })
      const exit = yield* Effect.exit(settleAttempt(Effect.fail(fatal)))
      assert.deepStrictEqual(exit, Exit.fail(fatal))
    }))

  it.effect("turns a defect of the call (the entity's runner died under the write) into a retryable failure", () =>
    Effect.gen(function*() {
      const socketError = Object.assign(new Error("An error occurred during Write"), { name: "SocketError" })
      const failure = yield* Effect.flip(settleAttempt(Effect.die(socketError)))
      assert.instanceOf(failure, PushRetryable)
      assert.isTrue((failure as PushRetryable).uncertainCreate, "the entity may have created it before the cut")
    }))

  it.effect("turns the entity's interruption (its shard moved) into a retryable failure", () =>
    Effect.gen(function*() {
      const elsewhere = Cause.interrupt(FiberId.make(4242, 0))
      const failure = yield* Effect.flip(settleAttempt(Effect.failCause(elsewhere)))
      assert.instanceOf(failure, PushRetryable)
    }))
})
