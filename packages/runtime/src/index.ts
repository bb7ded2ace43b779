import { amplitudeClientWith, AmplitudeConfig, AmplitudeGovernor, FleetGovernorLive } from "@findry/amplitude-adapter"
import { Keyring } from "@findry/crypto"
import { Config, Effect, Layer, Option } from "effect"

export * from "./Infrastructure.js"
export * from "./Jobs.js"
export * from "./Role.js"
export * from "./Scheduler.js"
export * from "./StartupConfig.js"

/**
 * Amplitude's per-project limits (concurrency, hourly query budget, Experiment pacing) as the database allows:
 * with `DATABASE_URL`, shared by every process on that PostgreSQL server (the fleet-wide governor, one more
 * connection per process); without it, the embedded database serves this one process, which counts them in memory.
 * Start-up says which in one log line.
 */
export const AmplitudeGovernorLive = Layer.unwrapEffect(Effect.gen(function*() {
  const url = yield* Config.option(Config.redacted("DATABASE_URL"))
  if (Option.isSome(url)) {
    yield* Effect.logInfo("Amplitude limits are shared by every process on the PostgreSQL database (fleet-wide)")
    return FleetGovernorLive({ url: url.value })
  }
  yield* Effect.logInfo("Amplitude limits are counted in this process only (embedded database: one process)")
  return AmplitudeGovernor.Default
}))

/**
 * The Amplitude client of a service process: hosts and timeout from the `AMPLITUDE_*` variables, undici for
 * HTTP (`AmplitudeHttp`), credentials opened with the keyring of `FINDRY_ENCRYPTION_KEYS`, limits from `AmplitudeGovernorLive`.
 */
export const AmplitudeLive = amplitudeClientWith(AmplitudeGovernorLive).pipe(
  Layer.provide([AmplitudeConfig.layerConfig, Keyring.Default])
)
