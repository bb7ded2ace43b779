import { AnnotationJobsLive } from "@findry/annotations"
import { ExperimentSyncJobsLive } from "@findry/experiment-sync"
import { OutcomeSweepLive } from "@findry/outcomes"
import { Layer } from "effect"

/**
 * Every workflow, entity and cron this scheduler runs: the one place to register a job. Each entry is a
 * layer that needs at most a cluster `WorkflowEngine`/`Sharding`, `AmplitudeClient`, `AnnotationsConfig`
 * and the `SqlClient` (provided in `main.ts`; provide anything else a job needs on its own entry).
 *
 * The API runs the same jobs in-process on the embedded database (`pnpm start`): register a new job in
 * `apps/api/src/Scheduler.ts` (`EmbeddedJobsLive`) as well.
 */
export const JobsLive = Layer.mergeAll(
  AnnotationJobsLive,
  OutcomeSweepLive(),
  ExperimentSyncJobsLive
)
