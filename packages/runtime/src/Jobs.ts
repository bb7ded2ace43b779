import { AnnotationJobsLive } from "@findry/annotations"
import { ExperimentSyncJobsLive } from "@findry/experiment-sync"
import { OutcomeSweepLive } from "@findry/outcomes"
import { Layer } from "effect"

/**
 * Every workflow, entity and cron of the scheduler: the one place to register a job. Every process that runs
 * jobs (roles `all` and `worker`) runs this list. Each entry needs at most a cluster `WorkflowEngine`/`Sharding`,
 * `AmplitudeClient`, `AnnotationsConfig` and the `SqlClient`; provide anything else a job needs on its own entry.
 */
export const JobsLive = Layer.mergeAll(
  AnnotationJobsLive,
  OutcomeSweepLive(),
  ExperimentSyncJobsLive
)
