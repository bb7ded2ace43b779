import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, MetricLabel } from "effect"
import { labelledMetric } from "../src/LabelledMetric.js"

describe("labelledMetric", () => {
  it.effect("tags a metric once per label set, with the fixed labels, and counts each set apart", () =>
    Effect.gen(function*() {
      const base = Metric.counter("labelled_metric_test", { incremental: true })
      const byOutcome = labelledMetric(base, { unit: "1" })
      assert.strictEqual(byOutcome({ outcome: "ok" }), byOutcome({ outcome: "ok" }))
      assert.notStrictEqual(byOutcome({ outcome: "ok" }), byOutcome({ outcome: "failed" }))

      yield* Metric.increment(byOutcome({ outcome: "ok" }))
      yield* Metric.increment(byOutcome({ outcome: "ok" }))
      yield* Metric.increment(byOutcome({ outcome: "failed" }))
      const series = Metric.taggedWithLabels(base, [MetricLabel.make("unit", "1"), MetricLabel.make("outcome", "ok")])
      assert.strictEqual((yield* Metric.value(series)).count, 2)
      assert.strictEqual((yield* Metric.value(byOutcome({ outcome: "failed" }))).count, 1)
      assert.strictEqual((yield* Metric.value(base)).count, 0)
    }))
})
