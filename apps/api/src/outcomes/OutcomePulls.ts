import type { BetId, NotFound, OutcomeNotSet, OutcomeRun, RateLimited, WorkspaceId } from "@findry/domain"
import { OutcomeMeasurement, OutcomeMeasurementLive } from "@findry/outcomes"
import { Effect } from "effect"
import { makeSingleFlight } from "../limits/SingleFlight.js"
import { UsageLimits } from "../limits/UsageLimits.js"

/**
 * "Pull metrics" as members ask for it: counted in the workspace's budget of Amplitude calls, and joined by every
 * pull of the same bet that arrives while it runs in this process. A pull arriving at another replica meanwhile
 * runs there too (each counted in the budget); the later of the two runs is the bet's last run.
 */
export class OutcomePulls extends Effect.Service<OutcomePulls>()("@findry/api/OutcomePulls", {
  scoped: Effect.gen(function*() {
    const measurement = yield* OutcomeMeasurement
    const limits = yield* UsageLimits
    const running = makeSingleFlight<OutcomeRun, NotFound | OutcomeNotSet | RateLimited>(yield* Effect.scope)

    const pull = (workspaceId: WorkspaceId, betId: BetId) =>
      running(
        `${workspaceId}:${betId}`,
        measurement.pull(workspaceId, betId, { beforeCalling: limits.amplitudeCall(workspaceId) })
      )

    return { pull } as const
  }),
  dependencies: [OutcomeMeasurementLive, UsageLimits.Default]
}) {}
