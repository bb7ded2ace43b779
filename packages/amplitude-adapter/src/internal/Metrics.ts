import { labelledMetric } from "@findry/domain"
import { Metric, MetricBoundaries } from "effect"

/** Seconds, from 5 ms to Amplitude's slowest answers. */
const seconds = MetricBoundaries.fromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])

/**
 * One observation per request sent to Amplitude, by `amplitude.endpoint` (the route template), method, host
 * (`analytics`, `experiment`), region and status (`timeout` or `network_error` when no answer came).
 */
export const callDuration = labelledMetric(
  Metric.histogram(
    "amplitude.client.request.duration",
    seconds,
    "Requests sent to Amplitude, in seconds, by endpoint template, method, host, region and status"
  ),
  { unit: "s" }
)

/** Amplitude's 429 answers, by endpoint template and call policy. */
export const rateLimitedCalls = labelledMetric(Metric.counter("amplitude.client.rate_limited", {
  description: "429 answers from Amplitude, by endpoint template and call policy",
  incremental: true
}))

/** Time a request waited in this process's governor: `gate` is `concurrency`, `budget` or `experiment_pace`. */
export const governorWait = labelledMetric(
  Metric.histogram(
    "amplitude.governor.wait.duration",
    MetricBoundaries.fromIterable([0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600]),
    "Time requests waited in the Amplitude governor, in seconds, by gate and priority"
  ),
  { unit: "s" }
)

/** Dashboard query cost charged to the projects' hourly budgets (Amplitude's cost units). */
export const budgetCharged = Metric.counter("amplitude.governor.budget.charged", {
  description: "Dashboard REST query cost charged to the hourly per-project budgets",
  incremental: true
})

/** The charged project's share of its hourly budget right after each charge (0 to 1). */
export const budgetUsed: Metric.Metric.Histogram<number> = Metric.histogram(
  "amplitude.governor.budget.used_ratio",
  MetricBoundaries.fromIterable([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]),
  "Share of the project's hourly query budget used, observed after each charge"
)

/** Charges refused (interactive calls) because the project's hourly budget was used up, or a query cost more. */
export const budgetRefused = Metric.counter("amplitude.governor.budget.refused", {
  description: "Queries refused because the project's hourly Amplitude budget had no room",
  incremental: true
})

/** Statements the fleet-wide governor sent to PostgreSQL: slots taken and given back, charges, refunds, pacing. */
export const governorStatements = Metric.counter("amplitude.governor.statements", {
  description: "Statements the fleet-wide Amplitude governor sent to PostgreSQL",
  incremental: true
})
