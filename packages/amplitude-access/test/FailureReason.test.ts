import { assert, describe, it } from "@effect/vitest"
import { CredentialsUnreadable, type ExperimentCallFailure } from "@findry/amplitude-adapter"
import {
  AmplitudeRejected,
  AmplitudeUnavailable,
  InvalidCredentials,
  NoExperimentAccess,
  RateLimited,
  Unreachable
} from "@findry/domain"
import { failureReason } from "../src/FailureReason.js"

describe("failureReason", () => {
  it("turns each Amplitude failure into the reason background work stores", () => {
    const cases: ReadonlyArray<readonly [ExperimentCallFailure, string]> = [
      [
        new RateLimited({ retryAfterSeconds: 900, message: "Amplitude rate-limited the call (429)." }),
        "Amplitude rate limit reached (429): retry in 900 seconds"
      ],
      [new Unreachable({ reason: "ECONNREFUSED" }), "Couldn't reach Amplitude (ECONNREFUSED): try again later"],
      [new Unreachable({}), "Couldn't reach Amplitude (timeout): try again later"],
      [new AmplitudeUnavailable({ status: 503 }), "Amplitude is unavailable (status 503): try again later"],
      [
        new InvalidCredentials({}),
        "Amplitude rejected the stored keys (revoked or regenerated?): reconnect Amplitude with fresh keys"
      ],
      [
        new CredentialsUnreadable({ slot: "secretKey", reason: "UnknownKey" }),
        "The stored Amplitude credentials can't be read. Reconnect Amplitude with fresh keys, or ask an operator to " +
        "restore the encryption key (secretKey: UnknownKey)."
      ],
      [new NoExperimentAccess({}), new NoExperimentAccess({}).message],
      [
        new AmplitudeRejected({ status: 400, message: "Amplitude refused the annotation: label too long" }),
        "Amplitude refused the annotation: label too long (status 400)"
      ]
    ]
    for (const [failure, reason] of cases) assert.strictEqual(failureReason(failure), reason, failure._tag)
  })

  it("rejected keys get one fixed text, whatever the failure's own message says", () => {
    const reason = failureReason(new InvalidCredentials({ message: "Amplitude rejected the Management API key." }))
    assert.match(reason, /^Amplitude rejected the stored keys/)
  })
})
