import { ClusterCron } from "@effect/cluster"
import { AnnotationSchedulerLive } from "@findry/annotations"
import { AnnotationRecordsRepo, BetsRepo, IntegrationsRepo } from "@findry/persistence"
import { Cron, Effect, Layer } from "effect"
import { OutcomeMeasurement, type SweepOptions } from "./OutcomeMeasurement.js"

/** Every hour at minute 20 (UTC). */
export const OUTCOME_SWEEP_SCHEDULE = "20 * * * *"

/**
 * `OutcomeMeasurement` with the annotation boundary it reports verdicts to. Needs a `WorkflowEngine`, the
 * `AmplitudeClient` and the `SqlClient`.
 */
export const OutcomeMeasurementLive = OutcomeMeasurement.Default.pipe(
  Layer.provide(AnnotationSchedulerLive),
  Layer.provide([BetsRepo.Default, AnnotationRecordsRepo.Default, IntegrationsRepo.Default])
)

/**
 * The outcome sweep as a cluster-wide cron: one run per slot across every scheduler replica. A slot missed
 * during a rebalance is skipped; the next one picks up every bet still due, so nothing is lost.
 */
export const OutcomeSweepCron = (options: SweepOptions & { readonly cron?: string } = {}) =>
  ClusterCron.make({
    name: "OutcomeSweep",
    cron: Cron.unsafeParse(options.cron ?? OUTCOME_SWEEP_SCHEDULE),
    execute: Effect.flatMap(OutcomeMeasurement, (measurement) => measurement.sweep(options)).pipe(Effect.asVoid),
    skipIfOlderThan: "1 hour"
  })

/** The sweep job, ready to register with a runner: needs `Sharding`, a `WorkflowEngine`, `AmplitudeClient`, `SqlClient`. */
export const OutcomeSweepLive = (options: SweepOptions & { readonly cron?: string } = {}) =>
  OutcomeSweepCron(options).pipe(Layer.provide(OutcomeMeasurementLive))
