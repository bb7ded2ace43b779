import { Schema } from "effect"

export const WorkspaceId = Schema.UUID.pipe(Schema.brand("WorkspaceId"))
export type WorkspaceId = typeof WorkspaceId.Type

export const ProjectId = Schema.UUID.pipe(Schema.brand("ProjectId"))
export type ProjectId = typeof ProjectId.Type

export const UserId = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(128),
  Schema.pattern(/^[\w.@:-]+$/),
  Schema.brand("UserId")
)
export type UserId = typeof UserId.Type

export const IntegrationId = Schema.UUID.pipe(Schema.brand("IntegrationId"))
export type IntegrationId = typeof IntegrationId.Type

export const AmplitudeRegion = Schema.Literal("us", "eu")
export type AmplitudeRegion = typeof AmplitudeRegion.Type

export const regionLabel = (region: AmplitudeRegion): string => region === "eu" ? "EU" : "US"

export const MetricId = Schema.UUID.pipe(Schema.brand("MetricId"))
export type MetricId = typeof MetricId.Type

export const MetricMappingId = Schema.UUID.pipe(Schema.brand("MetricMappingId"))
export type MetricMappingId = typeof MetricMappingId.Type

export const OutcomeRunId = Schema.UUID.pipe(Schema.brand("OutcomeRunId"))
export type OutcomeRunId = typeof OutcomeRunId.Type
