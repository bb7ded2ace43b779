import { HttpApi, HttpApiBuilder } from "@effect/platform"
import { SchedulerHealth } from "@findry/annotations"
import { FindryApi, HealthApi, NotReady, ReadinessChecks } from "@findry/domain"
import { DatabaseHealth } from "@findry/persistence"
import { SchedulerPresence } from "@findry/runtime"
import { Effect, Layer } from "effect"

/**
 * The readiness check of this process. The scheduler fails readiness only where this process runs the jobs
 * (roles `all` and `worker`): an API that enqueues for other processes' runners (role `api`) stays in its load
 * balancer when the runners are down, and says so in `checks.scheduler`.
 */
const makeReadiness = Effect.gen(function*() {
  const database = yield* DatabaseHealth
  const scheduler = yield* SchedulerHealth
  const presence = yield* SchedulerPresence
  const schedulerCheck = presence.runsJobs ? scheduler.check : Effect.gen(function*() {
    if (yield* presence.noRunner) return "no_runner" as const
    return (yield* scheduler.check) === "ok" ? "ok" as const : "stalled" as const
  })
  const readyz = Effect.gen(function*() {
    const [status, schedulerStatus] = yield* Effect.all([database.check, schedulerCheck], { concurrency: "unbounded" })
    const checks = new ReadinessChecks({ ...status, scheduler: schedulerStatus })
    const failing = Object.entries(checks).filter(([, value]) => value === "failing").map(([name]) => name)
    if (failing.length > 0) {
      return yield* new NotReady({ message: `Not ready: ${failing.join(", ")} failing`, failing, checks })
    }
    return { status: "ready" as const, checks }
  })
  return { readyz }
})

const healthy = Effect.succeed({ status: "ok" as const })

/** Needs `SqlClient`, `AnnotationsConfig` (the scheduler's stall threshold) and `SchedulerPresence`. */
export const HealthHttpLive = HttpApiBuilder.group(
  FindryApi,
  "health",
  (handlers) =>
    Effect.map(makeReadiness, ({ readyz }) => handlers.handle("healthz", () => healthy).handle("readyz", () => readyz))
)
  .pipe(Layer.provide([DatabaseHealth.Default, SchedulerHealth.Default]))

/** What a `worker` serves on `PORT`: `/healthz` and `/readyz` only. */
export const WorkerApi = HttpApi.make("findry-worker").add(HealthApi)

/** The health endpoints of a `worker`, with the same answers as the API's. */
export const WorkerHealthHttpLive = HttpApiBuilder.api(WorkerApi).pipe(
  Layer.provide(
    HttpApiBuilder.group(
      WorkerApi,
      "health",
      (handlers) =>
        Effect.map(
          makeReadiness,
          ({ readyz }) => handlers.handle("healthz", () => healthy).handle("readyz", () => readyz)
        )
    )
  ),
  Layer.provide([DatabaseHealth.Default, SchedulerHealth.Default])
)
