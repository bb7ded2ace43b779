import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { BetPath, OutcomeNotSet, OutcomeRun } from "./BetsApi.js"
import { RateLimited } from "./Errors.js"
import { withWorkspaceAccess } from "./WorkspaceEndpoint.js"

/**
 * "Pull metrics": measures a bet's outcome from Amplitude now. Always a 200 run once the outcome is logged:
 * no mapping, no connection, unknown events, a missing cohort or Amplitude trouble come back as `warnings`
 * with null values. Past the workspace's budget of Amplitude calls, a 429 before Amplitude is called.
 */
export class OutcomesApi extends HttpApiGroup.make("outcomes")
  .add(
    HttpApiEndpoint.post("pull", "/v1/workspaces/:workspaceId/bets/:betId/outcome/pull")
      .setPath(BetPath)
      .addSuccess(OutcomeRun)
      .addError(OutcomeNotSet)
      .addError(RateLimited)
  )
  .pipe(withWorkspaceAccess)
{}
