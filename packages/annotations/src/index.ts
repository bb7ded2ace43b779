export { AmplitudeProject, AmplitudeProjectLive, PushFailure, PushFatal, PushRetryable } from "./AmplitudeProject.js"
export {
  AnnotationScheduler,
  AnnotationSchedulerLive,
  type BetEvent,
  desiredAnnotation,
  type RetryFailed,
  SKIP_REASONS
} from "./AnnotationScheduler.js"
export { AnnotationsConfig, type AnnotationsSettings, DEFAULT_ANNOTATIONS_SETTINGS } from "./AnnotationsConfig.js"
export { AnnotationJobsLive, clusterSharding, singleRunner } from "./Cluster.js"
export { PushAnnotation, PushPayload, PushResult, PushStatus } from "./PushAnnotation.js"
export { AnnotationPushLive, backoffFor, PushAnnotationLive, settleAttempt } from "./PushAnnotationWorkflow.js"
export { decisionToAnnotation, pushOutcomes } from "./PushMetrics.js"
export { purgeFinishedWorkflows, RetentionPurgeLive } from "./RetentionPurge.js"
export { BacklogMetricsLive, dueBacklog, oldestDueAge, SchedulerHealth } from "./SchedulerHealth.js"
