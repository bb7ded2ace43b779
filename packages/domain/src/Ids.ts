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
