import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { ParseResult, Redacted, Schema } from "effect"
import { BetId } from "./BetsApi.js"
import { KeyValidationError, ManagementKeyValidationError, NotConnected, RateLimited } from "./Errors.js"
import { AmplitudeRegion } from "./Ids.js"
import { withWorkspaceAccess, WorkspacePath } from "./WorkspaceEndpoint.js"
import { DisplayText } from "./WorkspacesApi.js"

/**
 * A secret typed by a user: trimmed, 1–256 characters, no control characters, and `Redacted` from here on.
 * Failure messages never repeat the value. Encoding gives the plain value back: that is how a client derived from the
 * contract sends what its user typed; no response schema contains a secret.
 */
export const SecretInput = (label: string) =>
  Schema.transformOrFail(Schema.String, Schema.RedactedFromSelf(Schema.String), {
    strict: true,
    decode: (raw, _, ast) => {
      const value = raw.trim()
      const problem = value.length === 0
        ? `${label} must not be empty`
        : value.length > 256
        ? `${label} must be at most 256 characters`
        : /\p{Cc}/u.test(value)
        ? `${label} must not contain control characters`
        : undefined
      return problem === undefined
        ? ParseResult.succeed(Redacted.make(value))
        : ParseResult.fail(new ParseResult.Type(ast, "<redacted>", problem))
    },
    encode: (secret) => ParseResult.succeed(Redacted.value(secret))
  }).annotations({ identifier: label })

export const ConnectionStatus = Schema.Literal("not_connected", "connected", "disconnected")

export class AmplitudeCapabilities extends Schema.Class<AmplitudeCapabilities>("AmplitudeCapabilities")({
  taxonomy: Schema.Boolean,
  experiments: Schema.Boolean
}) {}

/**
 * Annotation push health (docs/product-rules.md): `failing` after a push failed for good (e.g. the keys were
 * revoked in Amplitude), with the reason; back to `ok` after the next successful push or a reconnect.
 */
export class AnnotationPushHealth extends Schema.Class<AnnotationPushHealth>("AnnotationPushHealth")({
  status: Schema.Literal("ok", "failing"),
  reason: Schema.NullOr(Schema.String),
  failedAt: Schema.NullOr(Schema.Date),
  lastPushedAt: Schema.NullOr(Schema.Date)
}) {}

export class AmplitudeConnection extends Schema.Class<AmplitudeConnection>("AmplitudeConnection")({
  status: ConnectionStatus,
  region: Schema.NullOr(AmplitudeRegion),
  displayName: Schema.NullOr(Schema.String),
  apiKeyPrefix: Schema.NullOr(Schema.String),
  secretKeyPrefix: Schema.NullOr(Schema.String),
  managementKeyPrefix: Schema.NullOr(Schema.String),
  annotationsEnabled: Schema.Boolean,
  capabilities: AmplitudeCapabilities,
  connectedAt: Schema.NullOr(Schema.Date),
  disconnectedAt: Schema.NullOr(Schema.Date),
  lastValidatedAt: Schema.NullOr(Schema.Date),
  annotationPush: AnnotationPushHealth
}) {}

export class ConnectAmplitude extends Schema.Class<ConnectAmplitude>("ConnectAmplitude")({
  region: Schema.optionalWith(AmplitudeRegion, { default: () => "us" as const }),
  apiKey: SecretInput("API key"),
  secretKey: SecretInput("Secret key"),
  displayName: Schema.optional(DisplayText(120))
}) {}

export class Cohort extends Schema.Class<Cohort>("Cohort")({
  id: Schema.String,
  name: Schema.String,
  size: Schema.NullOr(Schema.Number),
  archived: Schema.Boolean,
  lastComputedAt: Schema.NullOr(Schema.Date)
}) {}

export class ExperimentVariant extends Schema.Class<ExperimentVariant>("ExperimentVariant")({
  key: Schema.String,
  name: Schema.optional(Schema.String)
}) {}

export class ExperimentSummary extends Schema.Class<ExperimentSummary>("ExperimentSummary")({
  id: Schema.String,
  key: Schema.String,
  name: Schema.String,
  state: Schema.NullOr(Schema.String),
  decision: Schema.NullOr(Schema.String),
  startDate: Schema.NullOr(Schema.String),
  endDate: Schema.NullOr(Schema.String),
  variants: Schema.Array(ExperimentVariant)
}) {}

export class AmplitudeEvent extends Schema.Class<AmplitudeEvent>("AmplitudeEvent")({
  name: Schema.String,
  totals: Schema.optional(Schema.Number)
}) {}

export const CohortPicker = Schema.Struct({
  available: Schema.Boolean,
  reason: Schema.optional(Schema.String),
  cohorts: Schema.Array(Cohort)
})
export const ExperimentPicker = Schema.Struct({
  available: Schema.Boolean,
  reason: Schema.optional(Schema.String),
  experiments: Schema.Array(ExperimentSummary)
})
export const EventPicker = Schema.Struct({
  available: Schema.Boolean,
  reason: Schema.optional(Schema.String),
  events: Schema.Array(AmplitudeEvent)
})

/** Answer of the admin's retry of failed annotation pushes. */
export class AnnotationRetry extends Schema.Class<AnnotationRetry>("AnnotationRetry")({
  /** Annotations whose push was queued again (each with a new revision); 0 when none was retryable. */
  requeued: Schema.Int.pipe(Schema.nonNegative())
}) {}

export class AmplitudeConnectionApi extends HttpApiGroup.make("amplitudeConnection")
  .add(
    HttpApiEndpoint.get("get", "/v1/workspaces/:workspaceId/integrations/amplitude")
      .setPath(WorkspacePath)
      .addSuccess(AmplitudeConnection)
  )
  .add(
    HttpApiEndpoint.put("connect", "/v1/workspaces/:workspaceId/integrations/amplitude")
      .setPath(WorkspacePath)
      .setPayload(ConnectAmplitude)
      .addSuccess(AmplitudeConnection)
      .addError(KeyValidationError)
  )
  .add(
    HttpApiEndpoint.patch("update", "/v1/workspaces/:workspaceId/integrations/amplitude")
      .setPath(WorkspacePath)
      .setPayload(Schema.Struct({ annotationsEnabled: Schema.Boolean }))
      .addSuccess(AmplitudeConnection)
      .addError(NotConnected)
  )
  .add(
    HttpApiEndpoint.del("disconnect", "/v1/workspaces/:workspaceId/integrations/amplitude")
      .setPath(WorkspacePath)
      .addSuccess(AmplitudeConnection)
  )
  .add(
    HttpApiEndpoint.put("setManagementKey", "/v1/workspaces/:workspaceId/integrations/amplitude/management-key")
      .setPath(WorkspacePath)
      .setPayload(Schema.Struct({ managementKey: SecretInput("Management API key") }))
      .addSuccess(AmplitudeConnection)
      .addError(NotConnected)
      .addError(ManagementKeyValidationError)
  )
  .add(
    HttpApiEndpoint.del("removeManagementKey", "/v1/workspaces/:workspaceId/integrations/amplitude/management-key")
      .setPath(WorkspacePath)
      .addSuccess(AmplitudeConnection)
  )
  .add(
    HttpApiEndpoint.post("retryAnnotations", "/v1/workspaces/:workspaceId/amplitude/annotations/retry")
      .setPath(WorkspacePath)
      .setUrlParams(Schema.Struct({ betId: Schema.optional(BetId) }))
      .addSuccess(AnnotationRetry)
      .addError(NotConnected)
      .annotate(
        OpenApi.Description,
        "Admin only. Pushes again the annotations whose push failed because Amplitude rejected the keys, the keys " +
          "could not be read or the attempts were used up, and those skipped while the workspace was disconnected, " +
          "when they were aimed at the Amplitude project the workspace is connected to now (`betId`: only that " +
          "bet's). Answers how many were queued; a call while an earlier retry is still pushing queues nothing twice."
      )
  )
  .add(
    HttpApiEndpoint.get("cohorts", "/v1/workspaces/:workspaceId/amplitude/cohorts")
      .setPath(WorkspacePath)
      .addSuccess(CohortPicker)
      .addError(RateLimited)
  )
  .add(
    HttpApiEndpoint.get("experiments", "/v1/workspaces/:workspaceId/amplitude/experiments")
      .setPath(WorkspacePath)
      .setUrlParams(Schema.Struct({ includeArchived: Schema.optional(Schema.BooleanFromString) }))
      .addSuccess(ExperimentPicker)
      .addError(RateLimited)
  )
  .add(
    HttpApiEndpoint.get("events", "/v1/workspaces/:workspaceId/amplitude/events")
      .setPath(WorkspacePath)
      .addSuccess(EventPicker)
      .addError(RateLimited)
  )
  .pipe(withWorkspaceAccess)
{}
