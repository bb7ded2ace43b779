import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { MetricId, OutcomeRunId, ProjectId } from "./Ids.js"
import { ProjectPath, withWorkspaceAccess, WorkspacePath } from "./WorkspaceEndpoint.js"
import { DisplayText } from "./WorkspacesApi.js"

export const BetId = Schema.UUID.pipe(Schema.brand("BetId"))
export type BetId = typeof BetId.Type

export const BetStatus = Schema.Literal("promoted", "shipped")
export type BetStatus = typeof BetStatus.Type

export const Direction = Schema.Literal("increase", "decrease")
export type Direction = typeof Direction.Type

export const MagnitudeUnit = Schema.Literal("percent", "absolute")
export type MagnitudeUnit = typeof MagnitudeUnit.Type

export const Verdict = Schema.Literal("hit", "miss", "inconclusive")
export type Verdict = typeof Verdict.Type

export const VerdictSource = Schema.Literal("sweep", "override")
export type VerdictSource = typeof VerdictSource.Type

export const OutcomeState = Schema.Literal("measuring", "closed")
export type OutcomeState = typeof OutcomeState.Type

/** The three annotations a bet can have in Amplitude (docs/product-rules.md#annotations). */
export const AnnotationKind = Schema.Literal("promoted", "shipped", "verdict")
export type AnnotationKind = typeof AnnotationKind.Type

export const AnnotationStatus = Schema.Literal("pending", "pushed", "skipped", "failed")
export type AnnotationStatus = typeof AnnotationStatus.Type

export const BET_TITLE_MAX = 200

/** A calendar day, `YYYY-MM-DD` (UTC). */
export const Day = Schema.String.pipe(
  Schema.filter((text) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return "must be a date as YYYY-MM-DD"
    const parsed = new Date(`${text}T00:00:00Z`)
    return (!Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(text)) || "must be a real calendar date"
  }),
  Schema.annotations({ identifier: "Day" })
)

export class PredictedImpact extends Schema.Class<PredictedImpact>("PredictedImpact")({
  metricId: MetricId,
  direction: Direction,
  magnitude: Schema.Number.pipe(Schema.finite(), Schema.positive()),
  magnitudeUnit: MagnitudeUnit,
  timeframeDays: Schema.Int.pipe(Schema.between(1, 365)),
  cohortId: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)))
}) {}

/** One measurement of a bet's outcome. Filled by the outcome sweep and "Pull metrics". */
export class OutcomeRun extends Schema.Class<OutcomeRun>("OutcomeRun")({
  id: OutcomeRunId,
  measuredAt: Schema.Date,
  baseline: Schema.NullOr(Schema.Number),
  observed: Schema.NullOr(Schema.Number),
  varianceAbs: Schema.NullOr(Schema.Number),
  variancePct: Schema.NullOr(Schema.Number),
  verdict: Schema.NullOr(Verdict),
  warnings: Schema.Array(Schema.String)
}) {}

export class Outcome extends Schema.Class<Outcome>("Outcome")({
  shipDate: Day,
  whatShipped: Schema.String,
  /** `measuring` until `timeframeDays` after the ship date, then `closed`. */
  state: OutcomeState,
  verdict: Schema.NullOr(Verdict),
  verdictSource: Schema.NullOr(VerdictSource),
  verdictAt: Schema.NullOr(Schema.Date),
  lastRun: Schema.NullOr(OutcomeRun)
}) {}

/** Where a bet's annotation stands. `reason` says why it was skipped or failed, or why a pending one waits. */
export class BetAnnotation extends Schema.Class<BetAnnotation>("BetAnnotation")({
  kind: AnnotationKind,
  status: AnnotationStatus,
  amplitudeAnnotationId: Schema.NullOr(Schema.Number),
  label: Schema.String,
  lastPushedAt: Schema.NullOr(Schema.Date),
  reason: Schema.optional(Schema.String)
}) {}

export class Bet extends Schema.Class<Bet>("Bet")({
  id: BetId,
  projectId: ProjectId,
  title: Schema.String,
  status: BetStatus,
  predictedImpact: PredictedImpact,
  promotedAt: Schema.Date,
  shippedAt: Schema.NullOr(Schema.Date),
  outcome: Schema.NullOr(Outcome),
  annotations: Schema.Array(BetAnnotation)
}) {}

export class AnnotationActivity extends Schema.Class<AnnotationActivity>("AnnotationActivity")({
  betId: BetId,
  kind: AnnotationKind,
  status: AnnotationStatus,
  amplitudeAnnotationId: Schema.NullOr(Schema.Number),
  label: Schema.String,
  lastPushedAt: Schema.NullOr(Schema.Date),
  reason: Schema.optional(Schema.String)
}) {}

export class OutcomeNotSet extends Schema.TaggedError<OutcomeNotSet>()(
  "OutcomeNotSet",
  {
    message: Schema.optionalWith(Schema.String, {
      default: () => "Log the outcome first (ship date and what shipped), then set the verdict."
    })
  },
  HttpApiSchema.annotations({ status: 409 })
) {}

export const BetPath = Schema.Struct({ ...WorkspacePath.fields, betId: BetId })

export const CreateBet = Schema.Struct({
  title: DisplayText(BET_TITLE_MAX),
  predictedImpact: PredictedImpact
})

export const UpdateBet = Schema.Struct({
  title: Schema.optional(DisplayText(BET_TITLE_MAX)),
  predictedImpact: Schema.optional(PredictedImpact)
})

export const LogOutcome = Schema.Struct({
  shipDate: Day,
  whatShipped: DisplayText(2000)
})

export class BetsApi extends HttpApiGroup.make("bets")
  .add(
    HttpApiEndpoint.post("create", "/v1/workspaces/:workspaceId/projects/:projectId/bets")
      .setPath(ProjectPath)
      .setPayload(CreateBet)
      .addSuccess(Bet, { status: 201 })
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/workspaces/:workspaceId/bets/:betId")
      .setPath(BetPath)
      .addSuccess(Bet)
  )
  .add(
    HttpApiEndpoint.patch("update", "/v1/workspaces/:workspaceId/bets/:betId")
      .setPath(BetPath)
      .setPayload(UpdateBet)
      .addSuccess(Bet)
  )
  .add(
    HttpApiEndpoint.post("ship", "/v1/workspaces/:workspaceId/bets/:betId/ship")
      .setPath(BetPath)
      .setPayload(Schema.Struct({ shippedAt: Schema.optional(Schema.Date) }))
      .addSuccess(Bet)
  )
  .add(
    HttpApiEndpoint.put("logOutcome", "/v1/workspaces/:workspaceId/bets/:betId/outcome")
      .setPath(BetPath)
      .setPayload(LogOutcome)
      .addSuccess(Outcome)
  )
  .add(
    HttpApiEndpoint.put("overrideVerdict", "/v1/workspaces/:workspaceId/bets/:betId/outcome/verdict")
      .setPath(BetPath)
      .setPayload(Schema.Struct({ verdict: Verdict }))
      .addSuccess(Outcome)
      .addError(OutcomeNotSet)
  )
  .add(
    HttpApiEndpoint.get("annotations", "/v1/workspaces/:workspaceId/amplitude/annotations")
      .setPath(WorkspacePath)
      .setUrlParams(Schema.Struct({
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)))
      }))
      .addSuccess(Schema.Struct({ annotations: Schema.Array(AnnotationActivity) }))
  )
  .pipe(withWorkspaceAccess)
{}

/** The product's labels, exactly: `▲ {title}`, `▲ Shipped: {title}`, `● Outcome {verdict}: {title}`. */
export const annotationLabel = (kind: AnnotationKind, title: string, verdict: Verdict | null = null): string =>
  kind === "promoted"
    ? `▲ ${title}`
    : kind === "shipped"
    ? `▲ Shipped: ${title}`
    : `● Outcome ${verdict ?? "inconclusive"}: ${title}`

/** The stable marker Findry puts in an annotation's `details` to find it again (docs/product-rules.md#annotations). */
export const annotationMarker = (betId: string, kind: AnnotationKind): string => `findry:${betId}:${kind}`
