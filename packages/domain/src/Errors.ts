import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { AmplitudeRegion, regionLabel } from "./Ids.js"

const message = (text: string) => Schema.optionalWith(Schema.String, { default: () => text })

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: message("Sign in again: the bearer token is missing, malformed or expired.") },
  HttpApiSchema.annotations({ status: 401 })
) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { message: message("Only a workspace admin can do this.") },
  HttpApiSchema.annotations({ status: 403 })
) {}

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: message("Not found, or you are not a member of this workspace.") },
  HttpApiSchema.annotations({ status: 404 })
) {}

export class NotConnected extends Schema.TaggedError<NotConnected>()(
  "NotConnected",
  { message: message("Connect Amplitude first: this workspace has no live Amplitude connection.") },
  HttpApiSchema.annotations({ status: 409 })
) {}

export class FieldProblem extends Schema.Class<FieldProblem>("FieldProblem")({
  field: Schema.String,
  problem: Schema.String
}) {}

export class ValidationError extends Schema.TaggedError<ValidationError>()(
  "ValidationError",
  {
    message: message("Some fields are invalid; nothing was changed."),
    fields: Schema.Array(FieldProblem)
  },
  HttpApiSchema.annotations({ status: 400 })
) {}

export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  {
    message: message("Something went wrong on our side. Quote the request id if you contact support."),
    requestId: Schema.String
  },
  HttpApiSchema.annotations({ status: 500 })
) {}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { message: message("The request body is over 1 MB; send a smaller body.") },
  HttpApiSchema.annotations({ status: 413 })
) {}

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  {
    message: message(
      "The service did not finish in time (the database is busy). Nothing may have changed; retry in a moment and " +
        "quote the request id if it keeps happening."
    ),
    requestId: Schema.String
  },
  HttpApiSchema.annotations({ status: 503 })
) {}

export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()(
  "InvalidCredentials",
  {
    message: message(
      "Amplitude rejected the API key. Check that: the API Key was copied correctly (no leading or trailing " +
        "whitespace); the Secret Key belongs to the same Amplitude project as the API Key; the project has not been " +
        "archived; the keys have not been regenerated in Amplitude since you copied them."
    )
  },
  HttpApiSchema.annotations({ status: 422 })
) {}

export class WrongRegion extends Schema.TaggedError<WrongRegion>()(
  "WrongRegion",
  { message: Schema.String, detectedRegion: AmplitudeRegion },
  HttpApiSchema.annotations({ status: 422 })
) {
  static of(detectedRegion: AmplitudeRegion): WrongRegion {
    return new WrongRegion({
      detectedRegion,
      message: `Wrong region: these keys belong to Amplitude ${
        regionLabel(detectedRegion)
      } Cloud. Switch the region to ${regionLabel(detectedRegion)} and save again.`
    })
  }
}

export class Unreachable extends Schema.TaggedError<Unreachable>()(
  "Unreachable",
  {
    message: message("Couldn't reach Amplitude: network timeout. Try again in a minute."),
    reason: Schema.optionalWith(Schema.String, { default: () => "timeout" })
  },
  HttpApiSchema.annotations({ status: 502 })
) {}

export class RateLimited extends Schema.TaggedError<RateLimited>()(
  "RateLimited",
  { message: Schema.String, retryAfterSeconds: Schema.Int.pipe(Schema.nonNegative()) },
  HttpApiSchema.annotations({ status: 429 })
) {
  static amplitude(retryAfterSeconds: number): RateLimited {
    return new RateLimited({
      retryAfterSeconds,
      message: `Amplitude rate-limited the validation call (429). Wait ${retryAfterSeconds} seconds and retry.`
    })
  }
}

export class NoExperimentAccess extends Schema.TaggedError<NoExperimentAccess>()(
  "NoExperimentAccess",
  {
    message: message(
      "Amplitude accepted the Management API key, but it has no access to this project. Create the key in the " +
        "same Amplitude project as the API key, then save it again."
    )
  },
  HttpApiSchema.annotations({ status: 422 })
) {}

export class AmplitudeUnavailable extends Schema.TaggedError<AmplitudeUnavailable>()(
  "AmplitudeUnavailable",
  {
    message: message("Amplitude is having trouble right now (it answered with a server error). Try again later."),
    status: Schema.Int
  },
  HttpApiSchema.annotations({ status: 502 })
) {}

export class AmplitudeRejected extends Schema.TaggedError<AmplitudeRejected>()(
  "AmplitudeRejected",
  { message: Schema.String, status: Schema.Int },
  HttpApiSchema.annotations({ status: 422 })
) {}

/*
 * Error sets: each declared once, added to endpoints with one `.addError(set)` (an endpoint's errors are the union of
 * its members, each answered with its own status), and used as the failure types of the Amplitude adapter.
 */

/** What any endpoint may answer, whatever it does: a body that does not validate, is too large, or a server fault. */
export const AnyEndpointError = Schema.Union(ValidationError, PayloadTooLarge, ServiceUnavailable, InternalError)
export type AnyEndpointError = typeof AnyEndpointError.Type

/** The caller is not a member of the workspace (or it does not exist), or the endpoint is for admins only. */
export const WorkspaceAccessError = Schema.Union(NotFound, Forbidden)
export type WorkspaceAccessError = typeof WorkspaceAccessError.Type

/**
 * What any call to Amplitude can fail with, whichever keys it carries: the keys were refused, Amplitude could not be
 * reached, rate-limited us, or answered with a server error. The sets below add what their calls can also answer.
 */
export const AnyAmplitudeCallError = Schema.Union(InvalidCredentials, Unreachable, RateLimited, AmplitudeUnavailable)
export type AnyAmplitudeCallError = typeof AnyAmplitudeCallError.Type

/** Validating a project's API and secret keys with Amplitude (connect, re-key) failed. */
export const KeyValidationError = Schema.Union(...AnyAmplitudeCallError.members, WrongRegion)
export type KeyValidationError = typeof KeyValidationError.Type

/** Validating a Management API key with Amplitude Experiment failed. */
export const ManagementKeyValidationError = Schema.Union(...AnyAmplitudeCallError.members, NoExperimentAccess)
export type ManagementKeyValidationError = typeof ManagementKeyValidationError.Type

/** Amplitude did not answer a call made with a connected project's keys with a result. */
export const AmplitudeCallError = Schema.Union(...AnyAmplitudeCallError.members, AmplitudeRejected)
export type AmplitudeCallError = typeof AmplitudeCallError.Type

/** An Amplitude Experiment call made with the connection's Management API key failed. */
export const ExperimentCallError = Schema.Union(...AmplitudeCallError.members, NoExperimentAccess)
export type ExperimentCallError = typeof ExperimentCallError.Type
