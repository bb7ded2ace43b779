import type { ExperimentCallFailure } from "@findry/amplitude-adapter"

/**
 * The reason stored when a call on a workspace's connection fails (a push's reason, an outcome run's
 * warning, a sync night's message): what happened and what fixes it, never a key.
 */
export const failureReason = (failure: ExperimentCallFailure): string => {
  switch (failure._tag) {
    case "RateLimited":
      return `Amplitude rate limit reached (429): retry in ${failure.retryAfterSeconds} seconds`
    case "Unreachable":
      return `Couldn't reach Amplitude (${failure.reason}): try again later`
    case "AmplitudeUnavailable":
      return `Amplitude is unavailable (status ${failure.status}): try again later`
    case "InvalidCredentials":
      return "Amplitude rejected the stored keys (revoked or regenerated?): reconnect Amplitude with fresh keys"
    case "CredentialsUnreadable":
    case "NoExperimentAccess":
      return failure.message
    case "AmplitudeRejected":
      return `${failure.message} (status ${failure.status})`
  }
}
