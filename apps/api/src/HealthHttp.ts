import { HttpApiBuilder } from "@effect/platform"
import { FindryApi, NotReady, ReadinessChecks } from "@findry/domain"
import { DatabaseHealth } from "@findry/persistence"
import { Effect, Layer } from "effect"

export const HealthHttpLive = HttpApiBuilder.group(FindryApi, "health", (handlers) =>
  Effect.gen(function*() {
    const database = yield* DatabaseHealth
    return handlers
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        Effect.gen(function*() {
          const status = yield* database.check
          const checks = new ReadinessChecks(status)
          const failing = Object.entries(status).filter(([, value]) => value !== "ok").map(([name]) => name)
          if (failing.length > 0) {
            return yield* new NotReady({ message: `Not ready: ${failing.join(", ")} failing`, failing, checks })
          }
          return { status: "ready" as const, checks }
        }))
  })).pipe(Layer.provide(DatabaseHealth.Default))
