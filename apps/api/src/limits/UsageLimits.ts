import { RateLimited, type WorkspaceId } from "@findry/domain"
import { type RateLimit, type RateLimitExceeded, RateLimits } from "@findry/persistence"
import { Config, Effect } from "effect"

const perWindow = (name: string, byDefault: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "must be a whole number, 1 or more", validation: (max) => max >= 1 }),
    Config.withDefault(byDefault)
  )

/** How much each caller may do; every limit is counted fleet-wide in PostgreSQL (`RateLimits`). */
export const usageLimitsConfig = Config.all({
  validationsPerWorkspacePerMinute: perWindow("FINDRY_VALIDATIONS_PER_WORKSPACE_PER_MINUTE", 5),
  validationsPerUserPerHour: perWindow("FINDRY_VALIDATIONS_PER_USER_PER_HOUR", 20),
  workspacesPerUserPerHour: perWindow("FINDRY_WORKSPACES_PER_USER_PER_HOUR", 5),
  amplitudeCallsPerWorkspacePerMinute: perWindow("FINDRY_AMPLITUDE_CALLS_PER_WORKSPACE_PER_MINUTE", 20)
})

/**
 * Our own limits, taken before the work they guard starts: key validations against Amplitude (per workspace and
 * per user across workspaces), workspace creation per user, and the Amplitude calls members trigger per workspace
 * (pickers not answered from the shared answers, "Pull metrics", experiment look-ups).
 */
export class UsageLimits extends Effect.Service<UsageLimits>()("@findry/api/UsageLimits", {
  effect: Effect.gen(function*() {
    const rateLimits = yield* RateLimits
    const config = yield* usageLimitsConfig

    const take = (limits: ReadonlyArray<RateLimit & { readonly refusal: (seconds: number) => string }>) =>
      rateLimits.take(limits).pipe(
        Effect.catchTag("RateLimitExceeded", ({ limit, retryAfterSeconds }: RateLimitExceeded) =>
          Effect.fail(
            new RateLimited({
              retryAfterSeconds,
              message: limits.find(({ key }) => key === limit.key)!.refusal(retryAfterSeconds)
            })
          ))
      )

    /** One attempt to validate Amplitude keys (connect, re-key, management key) for `workspaceId` by `userId`. */
    const validation = (workspaceId: WorkspaceId, userId: string) =>
      take([
        {
          key: `validation:workspace:${workspaceId}`,
          max: config.validationsPerWorkspacePerMinute,
          window: "1 minute",
          refusal: (seconds) =>
            `Too many attempts to validate Amplitude keys for this workspace. Wait ${seconds} seconds and retry.`
        },
        {
          key: `validation:user:${userId}`,
          max: config.validationsPerUserPerHour,
          window: "1 hour",
          refusal: (seconds) =>
            `You have validated too many Amplitude keys in the last hour. Wait ${seconds} seconds and retry.`
        }
      ])

    const workspaceCreation = (userId: string) =>
      take([{
        key: `workspace-creation:user:${userId}`,
        max: config.workspacesPerUserPerHour,
        window: "1 hour",
        refusal: (seconds) =>
          `You have created too many workspaces in the last hour. Wait ${seconds} seconds and retry.`
      }])

    /** One Amplitude call a member triggers for `workspaceId`. */
    const amplitudeCall = (workspaceId: WorkspaceId) =>
      take([{
        key: `amplitude-calls:workspace:${workspaceId}`,
        max: config.amplitudeCallsPerWorkspacePerMinute,
        window: "1 minute",
        refusal: (seconds) =>
          `This workspace has asked Amplitude for too much in the last minute. Wait ${seconds} seconds and retry.`
      }])

    return { validation, workspaceCreation, amplitudeCall } as const
  }),
  dependencies: [RateLimits.Default]
}) {}
