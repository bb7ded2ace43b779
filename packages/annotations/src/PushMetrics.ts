import { Clock, Effect, Metric, MetricBoundaries } from "effect"
import type { PushPayload, PushResult } from "./PushAnnotation.js"

/** Annotation pushes that ended, by `outcome`: `pushed`, `skipped`, `superseded` or `failed`. */
export const pushOutcomes = Metric.counter("annotation.pushes", {
  description: "Annotation pushes that ended, by outcome (pushed, skipped, superseded, failed)",
  incremental: true
})

/** From the decision (the API recording it) to its annotation being in Amplitude, for pushes that succeeded. */
export const decisionToAnnotation: Metric.Metric.Histogram<number> = Metric.histogram(
  "annotation.decision_to_annotation.duration",
  MetricBoundaries.fromIterable([0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600]),
  "Seconds from a decision being recorded to its annotation being in Amplitude"
).pipe(Metric.tagged("unit", "s"))

const byOutcome = {
  pushed: pushOutcomes.pipe(Metric.tagged("outcome", "pushed")),
  skipped: pushOutcomes.pipe(Metric.tagged("outcome", "skipped")),
  superseded: pushOutcomes.pipe(Metric.tagged("outcome", "superseded")),
  failed: pushOutcomes.pipe(Metric.tagged("outcome", "failed"))
}

/** Counts how a push ended and, when it reached Amplitude, how long after the decision. */
export const pushEnded = (payload: PushPayload, result: PushResult): Effect.Effect<void> =>
  Effect.zipRight(
    Metric.increment(byOutcome[result.status]),
    result.status === "pushed" && payload.decidedAt !== undefined
      ? Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Metric.update(decisionToAnnotation, Math.max(0, now - payload.decidedAt!) / 1000)
      )
      : Effect.void
  )
