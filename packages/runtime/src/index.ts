import { NodeHttpClient } from "@effect/platform-node"
import { AmplitudeClient, AmplitudeConfig } from "@findry/amplitude-adapter"
import { Keyring } from "@findry/crypto"
import { Layer } from "effect"

export * from "./Infrastructure.js"
export * from "./Jobs.js"
export * from "./Role.js"
export * from "./Scheduler.js"
export * from "./StartupConfig.js"

/**
 * The Amplitude client of a service process: hosts and timeout from the `AMPLITUDE_*` variables, undici for
 * HTTP, credentials opened with the keyring of `FINDRY_ENCRYPTION_KEYS`.
 */
export const AmplitudeLive = AmplitudeClient.Default.pipe(
  Layer.provide([AmplitudeConfig.layerConfig, NodeHttpClient.layerUndici, Keyring.Default])
)
