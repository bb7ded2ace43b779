import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import { backoffFor } from "../src/index.js"

const settings = { baseBackoff: Duration.seconds(2), maxBackoff: Duration.minutes(5) }
const millis = (attempt: number, retryAfterMs = 0) => Duration.toMillis(backoffFor(settings, attempt, retryAfterMs))

describe("backoffFor: the durable wait after a failed attempt", () => {
  it("doubles from the base per attempt without Retry-After", () => {
    assert.deepStrictEqual([1, 2, 3, 4, 5].map((attempt) => millis(attempt)), [2_000, 4_000, 8_000, 16_000, 32_000])
  })

  it("stops doubling at the cap", () => {
    assert.strictEqual(millis(8), 256_000)
    assert.strictEqual(millis(9), 300_000)
    assert.strictEqual(millis(40), 300_000)
  })

  it("waits the Retry-After when it is longer than the backoff", () => {
    assert.strictEqual(millis(1, 60_000), 60_000)
    assert.strictEqual(millis(3, 9_000), 9_000)
  })

  it("keeps the backoff when Retry-After is shorter", () => {
    assert.strictEqual(millis(3, 1_000), 8_000)
  })

  it("caps a Retry-After above the longest wait", () => {
    assert.strictEqual(millis(1, 3_600_000), 300_000)
  })
})
