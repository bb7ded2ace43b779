import { HttpApiBuilder } from "@effect/platform"
import { SchedulerHealth } from "@findry/annotations"
import { FindryApi, NotReady, ReadinessChecks } from "@findry/domain"
import { DatabaseHealth } from "@findry/persistence"
import { Effect, Layer } from "effect"
import { SchedulerPresence } from "./Scheduler.js"

/**
 * Needs `SqlClient`, `AnnotationsConfig` (the scheduler's stall threshold) and `SchedulerPresence`. The scheduler
 * fails readiness only where this process runs the jobs: an API that enqueues for separate runners stays in
 * its load balancer when the runners are down, and says so in `checks.scheduler`.
 */
export const HealthHttpLive = HttpApiBuilder.group(FindryApi, "health", (handlers) =>
  Effect.gen(function*() {
    const database = yield* DatabaseHealth
    const scheduler = yield* SchedulerHealth
    const presence = yield* SchedulerPresence
    const schedulerCheck = presence.mode === "embedded" ? scheduler.check : Effect.gen(function*() {
      if (yield* presence.noRunner) return "no_runner" as const
      return (yield* scheduler.check) === "ok" ? "ok" as const : "stalled" as const
    })
    return handlers
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        Effect.gen(function*() {
          const [status, schedulerStatus] = yield* Effect.all([database.check, schedulerCheck], {
            concurrency: "unbounded"
          })
          const checks = new ReadinessChecks({ ...status, scheduler: schedulerStatus })
          const failing = Object.entries(checks).filter(([, value]) => value === "failing").map(([name]) => name)
          if (failing.length > 0) {
            return yield* new NotReady({ message: `Not ready: ${failing.join(", ")} failing`, failing, checks })
          }
          return { status: "ready" as const, checks }
        }))
  })).pipe(Layer.provide([DatabaseHealth.Default, SchedulerHealth.Default]))
