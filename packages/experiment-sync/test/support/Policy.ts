import { CallPolicy } from "@findry/amplitude-adapter"
import { Duration } from "effect"
import { SYNC_POLICY } from "../../src/ExperimentSync.js"

/** The sync's Amplitude policy with waits short enough for tests. */
export const FAST_POLICY = CallPolicy.make(SYNC_POLICY, {
  name: "experiment-sync-test",
  transientBaseDelay: Duration.millis(5),
  transientMaxDelay: Duration.millis(20),
  rateLimitBaseDelay: Duration.millis(5),
  rateLimitMaxDelay: Duration.millis(20)
})
