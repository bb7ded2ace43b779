import { ClusterCron } from "@effect/cluster"
import { Cron, Effect } from "effect"
import { OutcomeMeasurement, type SweepOptions } from "./OutcomeMeasurement.js"

/** Every hour at minute 20 (UTC). */
export const OUTCOME_SWEEP_SCHEDULE = "20 * * * *"

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
