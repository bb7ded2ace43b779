import { Workflow } from "@effect/workflow"
import { AnnotationKind } from "@findry/domain"
import { Schema } from "effect"

export const PushStatus = Schema.Literal("pushed", "skipped", "failed", "superseded")
export type PushStatus = typeof PushStatus.Type

/** How a push ended. `superseded`: a newer revision of the same (bet, kind) had already been pushed. */
export class PushResult extends Schema.Class<PushResult>("PushResult")({
  status: PushStatus,
  amplitudeAnnotationId: Schema.NullOr(Schema.Number),
  reason: Schema.NullOr(Schema.String)
}) {}

export const PushPayload = Schema.Struct({
  workspaceId: Schema.String,
  betId: Schema.String,
  kind: AnnotationKind,
  /** The `annotation_records.revision` this event produced. */
  revision: Schema.Number,
  /** When the decision was recorded (epoch ms), for the decision→annotation latency; absent on older messages. */
  decidedAt: Schema.optional(Schema.Number)
})
export type PushPayload = typeof PushPayload.Type

/**
 * Makes Amplitude show the annotation of one (bet, kind) as recorded in `annotation_records`.
 *
 * One execution per event: the idempotency key is the workspace, bet, kind and the revision the event
 * recorded, so a redelivered event never runs twice, while a re-fire (rename, new ship date, verdict
 * override) records a new revision and updates the same Amplitude annotation with `PUT`.
 */
export const PushAnnotation = Workflow.make({
  name: "PushAnnotation",
  payload: PushPayload,
  success: PushResult,
  idempotencyKey: ({ betId, kind, revision, workspaceId }) => `${workspaceId}/${betId}/${kind}/${revision}`
})
