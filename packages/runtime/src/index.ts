import { NodeHttpClient } from "@effect/platform-node"
import { AmplitudeClient, AmplitudeConfig } from "@findry/amplitude-adapter"
import { AnnotationJobsLive } from "@findry/annotations"
import { Keyring } from "@findry/crypto"
import { ExperimentSyncJobsLive } from "@findry/experiment-sync"
import { OutcomeSweepLive } from "@findry/outcomes"
import { Layer } from "effect"

/**
 * Every workflow, entity and cron of the scheduler: the one place to register a job. Scheduler runners
 * (`apps/scheduler`) and the API's embedded scheduler both run this list. Each entry needs at most a cluster
 * `WorkflowEngine`/`Sharding`, `AmplitudeClient`, `AnnotationsConfig` and the `SqlClient`; provide anything else a
 * job needs on its own entry.
 */
export const JobsLive = Layer.mergeAll(
  AnnotationJobsLive,
  OutcomeSweepLive(),
  ExperimentSyncJobsLive
)

/**
 * The Amplitude client of a service process: hosts and timeout from the `AMPLITUDE_*` variables, undici for
 * HTTP, credentials opened with the keyring of `FINDRY_ENCRYPTION_KEYS`.
 */
export const AmplitudeLive = AmplitudeClient.Default.pipe(
  Layer.provide([AmplitudeConfig.layerConfig, NodeHttpClient.layerUndici, Keyring.Default])
)
