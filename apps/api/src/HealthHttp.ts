import { HttpApiBuilder } from "@effect/platform"
import { SchedulerHealth } from "@findry/annotations"
import { FindryApi, NotReady, ReadinessChecks } from "@findry/domain"
import { DatabaseHealth } from "@findry/persistence"
import { Effect, Layer } from "effect"

/** Needs `SqlClient` and `AnnotationsConfig` (the scheduler's stall threshold). */
export const HealthHttpLive = HttpApiBuilder.group(FindryApi, "health", (handlers) =>
  Effect.gen(function*() {
    const database = yield* DatabaseHealth
    const scheduler = yield* SchedulerHealth
    return handlers
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        Effect.gen(function*() {
          const [status, schedulerStatus] = yield* Effect.all([database.check, scheduler.check], {
            concurrency: "unbounded"
          })
          const checks = new ReadinessChecks({ ...status, scheduler: schedulerStatus })
          const failing = Object.entries(checks).filter(([, value]) => value !== "ok").map(([name]) => name)
          if (failing.length > 0) {
            return yield* new NotReady({ message: `Not ready: ${failing.join(", ")} failing`, failing, checks })
          }
          return { status: "ready" as const, checks }
        }))
  })).pipe(Layer.provide([DatabaseHealth.Default, SchedulerHealth.Default]))
