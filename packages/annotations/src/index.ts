export {
  AnnotationScheduler,
  AnnotationSchedulerLive,
  type BetEvent,
  desiredAnnotation,
  SKIP_REASONS
} from "./AnnotationScheduler.js"
export { AnnotationsConfig, type AnnotationsSettings, DEFAULT_ANNOTATIONS_SETTINGS } from "./AnnotationsConfig.js"
export { PushAnnotation, PushPayload, PushResult, PushStatus } from "./PushAnnotation.js"
export { SchedulerHealth } from "./SchedulerHealth.js"
