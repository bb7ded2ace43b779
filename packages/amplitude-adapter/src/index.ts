export {
  AmplitudeClient,
  amplitudeClientWith,
  type ConnectionOptions,
  type ManagementKeyCredentials,
  type ManagementKeyFailure,
  type ProjectCredentials,
  type ValidatedProject,
  type ValidationFailure
} from "./AmplitudeClient.js"
export {
  AmplitudeConfig,
  type AmplitudeConfigValues,
  type AmplitudeSettings,
  DEFAULT_AMPLITUDE_TIMEOUT,
  DEFAULT_AMPLITUDE_URLS
} from "./AmplitudeConfig.js"
export {
  AmplitudeGovernor,
  DEFAULT_GOVERNOR_LIMITS,
  type Governor,
  type GovernorLimits,
  type Priority
} from "./AmplitudeGovernor.js"
export type { Annotation, AnnotationCategory, AnnotationFilter, AnnotationPatch, NewAnnotation } from "./Annotations.js"
export { CallPolicy } from "./CallPolicy.js"
export type { Cohort } from "./Cohorts.js"
export {
  type AmplitudeCallFailure,
  type AmplitudeExperiments,
  type ConnectedProject,
  type ExperimentCallFailure,
  type StoredConnection
} from "./ConnectedProject.js"
export { AMPLITUDE_PROVIDER, credentialBinding } from "./CredentialSlots.js"
export { CredentialSlot, CredentialsUnreadable } from "./CredentialsUnreadable.js"
export { compactDay, type DayInput, daysInRange, toDay } from "./Dates.js"
export type { EventCategory, EventSummary, TaxonomyEvent } from "./Events.js"
export type { Experiment, ExperimentListOptions, ExperimentPage, ExperimentVariant } from "./Experiments.js"
export { FleetGovernorLive, type FleetGovernorOptions, makeFleetGovernor } from "./FleetGovernor.js"
export {
  funnelCost,
  type FunnelGroup,
  funnelParams,
  type FunnelQuery,
  type FunnelResult,
  type FunnelStep
} from "./Funnel.js"
export { governorStatements } from "./internal/Metrics.js"
export { fromCsv as parseSavedChartCsv, type SavedChartResult } from "./SavedChart.js"
export {
  type EventSpec,
  type FilterOperator,
  type Interval,
  type PropertyFilter,
  type PropertyRef,
  Segment,
  segmentationCost,
  type SegmentationMetric,
  segmentationParams,
  type SegmentationQuery,
  type SegmentCondition
} from "./Segmentation.js"
export type { DailyValue, Series, SeriesResult } from "./Series.js"
export { sessionLengthCost, type SessionLengthQuery, usersCost, usersParams, type UsersQuery } from "./UserMetrics.js"
