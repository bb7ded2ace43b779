// The README's example, type-checked with the package's tests (`tsc -p packages/client/tsconfig.test.json`).
import { NodeHttpClient } from "@effect/platform-node"
import { FindryClient } from "@findry/client"
import type { MetricId, ProjectId, WorkspaceId } from "@findry/domain"
import { Effect, Layer, Redacted } from "effect"

interface Keys {
  readonly apiKey: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
}

export const connectAndBet = (workspaceId: WorkspaceId, projectId: ProjectId, metricId: MetricId, keys: Keys) =>
  Effect.gen(function*() {
    const findry = yield* FindryClient
    const path = { workspaceId }

    const connection = yield* findry.amplitudeConnection.connect({ path, payload: { region: "us", ...keys } }).pipe(
      // The keys belong to the other region: the error says which one, so connect there instead.
      Effect.catchTag(
        "WrongRegion",
        (wrong) => findry.amplitudeConnection.connect({ path, payload: { region: wrong.detectedRegion, ...keys } })
      ),
      Effect.catchTag(
        "RateLimited",
        (limited) => Effect.fail(`Too many attempts: try again in ${limited.retryAfterSeconds} s`)
      )
    )

    // The pickers.
    const cohorts = yield* findry.amplitudeConnection.cohorts({ path })
    const events = yield* findry.amplitudeConnection.events({ path })
    const experiments = yield* findry.amplitudeConnection.experiments({ path, urlParams: {} })

    const bet = yield* findry.bets.create({
      path: { workspaceId, projectId },
      payload: {
        title: "Shorter onboarding lifts activation",
        predictedImpact: { metricId, direction: "increase", magnitude: 5, magnitudeUnit: "percent", timeframeDays: 30 }
      }
    })
    return { connection, cohorts, events, experiments, bet }
  })

export const run = (workspaceId: WorkspaceId, projectId: ProjectId, metricId: MetricId, keys: Keys, jwt: string) =>
  connectAndBet(workspaceId, projectId, metricId, keys).pipe(
    Effect.provide(
      FindryClient.layer({ baseUrl: "https://findry.example.com", token: Redacted.make(jwt) }).pipe(
        Layer.provide(NodeHttpClient.layerUndici)
      )
    )
  )
