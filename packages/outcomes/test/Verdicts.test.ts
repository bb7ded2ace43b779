import { assert, describe, it } from "@effect/vitest"
import { elapsed, type Prediction, variance, verdictOf, windowClosed, windows } from "../src/Verdicts.js"

const up = (magnitude: number, magnitudeUnit: Prediction["magnitudeUnit"]): Prediction => ({
  direction: "increase",
  magnitude,
  magnitudeUnit
})
const down = (magnitude: number, magnitudeUnit: Prediction["magnitudeUnit"]): Prediction => ({
  direction: "decrease",
  magnitude,
  magnitudeUnit
})

describe("outcome rules", () => {
  it("windows: the timeframe before the ship date and the timeframe from it", () => {
    assert.deepStrictEqual(windows("2026-03-01", 7), {
      baseline: { start: "2026-02-22", end: "2026-02-28" },
      observed: { start: "2026-03-01", end: "2026-03-07" }
    })
    assert.isFalse(windowClosed("2026-03-01", 7, "2026-03-07"))
    assert.isTrue(windowClosed("2026-03-01", 7, "2026-03-08"))
    assert.deepStrictEqual(elapsed({ start: "2026-03-01", end: "2026-03-07" }, "2026-03-04"), {
      start: "2026-03-01",
      end: "2026-03-03"
    })
    assert.isUndefined(elapsed({ start: "2026-03-01", end: "2026-03-07" }, "2026-03-01"))
  })

  it("variance: absolute and percent of the baseline's size; no percent on a zero baseline", () => {
    assert.deepStrictEqual(variance(200, 250), { varianceAbs: 50, variancePct: 25 })
    assert.deepStrictEqual(variance(-40, -20), { varianceAbs: 20, variancePct: 50 })
    assert.deepStrictEqual(variance(0, 5), { varianceAbs: 5, variancePct: null })
    assert.deepStrictEqual(variance(null, 5), { varianceAbs: null, variancePct: null })
  })

  it("hit, inconclusive (short) and miss, both directions, percent and absolute", () => {
    assert.strictEqual(verdictOf(up(10, "percent"), 100, 110), "hit")
    assert.strictEqual(verdictOf(up(10, "percent"), 100, 109), "inconclusive")
    assert.strictEqual(verdictOf(up(10, "percent"), 100, 100), "miss")
    assert.strictEqual(verdictOf(up(10, "percent"), 100, 90), "miss")
    assert.strictEqual(verdictOf(down(10, "percent"), 100, 90), "hit")
    assert.strictEqual(verdictOf(down(10, "percent"), 100, 95), "inconclusive")
    assert.strictEqual(verdictOf(down(10, "percent"), 100, 120), "miss")
    assert.strictEqual(verdictOf(up(3, "absolute"), 0.2, 3.2), "hit")
    assert.strictEqual(verdictOf(up(3, "absolute"), 10, 12), "inconclusive")
    assert.strictEqual(verdictOf(down(3, "absolute"), 10, 7), "hit")
    assert.strictEqual(verdictOf(down(3, "absolute"), 10, 8), "inconclusive")
    assert.strictEqual(verdictOf(down(3, "absolute"), 10, 11), "miss")
  })

  it("insufficient data is inconclusive; an absolute change from zero still counts", () => {
    assert.strictEqual(verdictOf(up(10, "percent"), null, 5), "inconclusive")
    assert.strictEqual(verdictOf(up(10, "percent"), 5, null), "inconclusive")
    assert.strictEqual(verdictOf(up(10, "percent"), 0, 5), "inconclusive")
    assert.strictEqual(verdictOf(up(5, "absolute"), 0, 5), "hit")
    assert.strictEqual(verdictOf(down(10, "percent"), 0, 5), "miss")
  })
})
