import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { MetricId, MetricMappingId } from "./Ids.js"
import { withWorkspaceAccess, WorkspacePath } from "./WorkspaceEndpoint.js"
import { DisplayText } from "./WorkspacesApi.js"

export const MetricUnit = Schema.Literal("percent", "decimal", "integer", "currency")
export type MetricUnit = typeof MetricUnit.Type

export const METRIC_NAME_MAX = 80

const Description = Schema.Trim.pipe(
  Schema.filter((text) => text.length <= 2000 || "must be at most 2000 characters")
)

export class Metric extends Schema.Class<Metric>("Metric")({
  id: MetricId,
  name: Schema.String,
  unit: MetricUnit,
  description: Schema.NullOr(Schema.String)
}) {}

export class MetricNameTaken extends Schema.TaggedError<MetricNameTaken>()(
  "MetricNameTaken",
  {
    message: Schema.optionalWith(Schema.String, {
      default: () =>
        "A metric with this name already exists in the workspace (names are compared ignoring case): " +
        "pick another name, or edit the existing metric."
    }),
    name: Schema.String
  },
  HttpApiSchema.annotations({ status: 409 })
) {}

/** An Amplitude name as typed (event, property, chart or cohort id): exact, 1–1024 characters, no control characters. */
const AmplitudeName = (label: string, max = 1024) =>
  Schema.String.pipe(
    Schema.filter((text) =>
      text.trim().length === 0
        ? `${label} must not be empty`
        : text.length > max
        ? `${label} must be at most ${max} characters`
        : text !== text.trim()
        ? `${label} must not start or end with whitespace`
        : !/\p{Cc}/u.test(text) || `${label} must not contain control characters`
    )
  )

export const EventName = AmplitudeName("event name").annotations({ identifier: "EventName" })
export const PropertyName = AmplitudeName("property name", 256).annotations({ identifier: "PropertyName" })

/**
 * Aggregations of an event mapping. `count` and `uniques` need no property; the others aggregate a numeric
 * event property: `sum` (Amplitude `m=sums`), `average` (`m=value_avg`: sum ÷ events carrying the property) and
 * `average_per_user` (`m=sums` ÷ `m=uniques`: the property's total per user who fired the event, e.g. revenue
 * per buyer).
 */
export const EventAggregation = Schema.Literal("count", "uniques", "sum", "average", "average_per_user")
export type EventAggregation = typeof EventAggregation.Type

export const NUMERIC_AGGREGATIONS: ReadonlyArray<EventAggregation> = ["sum", "average", "average_per_user"]

/** `property = value`; `type` says whether it is an event property (default) or a user property. */
export class PropertyFilter extends Schema.Class<PropertyFilter>("PropertyFilter")({
  property: PropertyName,
  value: Schema.String.pipe(Schema.maxLength(1024)),
  type: Schema.optional(Schema.Literal("event", "user"))
}) {}

export const EventMappingFields = {
  kind: Schema.Literal("event"),
  event: EventName,
  aggregation: EventAggregation,
  property: Schema.optional(PropertyName),
  filters: Schema.optional(Schema.Array(PropertyFilter).pipe(Schema.maxItems(20)))
}
export const ChartMappingFields = {
  kind: Schema.Literal("chart"),
  chartId: AmplitudeName("chart id", 128).pipe(
    Schema.pattern(/^[\w-]+$/, { message: () => "chart id must be the id from the chart's URL" })
  )
}
export const FunnelMappingFields = {
  kind: Schema.Literal("funnel"),
  events: Schema.Array(EventName).pipe(
    Schema.minItems(2, { message: () => "a funnel needs at least two events" }),
    Schema.maxItems(10, { message: () => "a funnel has at most ten events" })
  ),
  conversionWindowDays: Schema.Int.pipe(Schema.between(1, 366))
}
export const CohortSizeMappingFields = {
  kind: Schema.Literal("cohort_size"),
  cohortId: AmplitudeName("cohort id", 128)
}
export const MappingTemplate = Schema.Literal("active_users", "new_users", "average_session_length")
export type MappingTemplate = typeof MappingTemplate.Type
export const TemplateMappingFields = {
  kind: Schema.Literal("template"),
  template: MappingTemplate
}

const numericPropertyRule = (
  params: { readonly aggregation: EventAggregation; readonly property?: string | undefined }
) =>
  NUMERIC_AGGREGATIONS.includes(params.aggregation)
    ? params.property !== undefined || `aggregation "${params.aggregation}" needs a numeric event property`
    : params.property === undefined ||
      `aggregation "${params.aggregation}" takes no property (only sum, average and average_per_user do)`

export const EventMappingParams = Schema.Struct(EventMappingFields).pipe(
  Schema.filter(numericPropertyRule),
  Schema.annotations({ identifier: "EventMappingParams" })
)
export const ChartMappingParams = Schema.Struct(ChartMappingFields).annotations({ identifier: "ChartMappingParams" })
export const FunnelMappingParams = Schema.Struct(FunnelMappingFields).annotations({
  identifier: "FunnelMappingParams"
})
export const CohortSizeMappingParams = Schema.Struct(CohortSizeMappingFields).annotations({
  identifier: "CohortSizeMappingParams"
})
export const TemplateMappingParams = Schema.Struct(TemplateMappingFields).annotations({
  identifier: "TemplateMappingParams"
})

/** What a PUT of a mapping carries: a union tagged by `kind`. */
export const MappingParams = Schema.Union(
  EventMappingParams,
  ChartMappingParams,
  FunnelMappingParams,
  CohortSizeMappingParams,
  TemplateMappingParams
)
export type MappingParams = typeof MappingParams.Type

const MappingCommon = {
  id: MetricMappingId,
  metricId: MetricId,
  needsReview: Schema.Boolean,
  updatedAt: Schema.Date
}

/** A metric's active Amplitude mapping: its parameters plus id, `needsReview` and `updatedAt`. */
export const Mapping = Schema.Union(
  Schema.Struct({ ...EventMappingFields, ...MappingCommon }).annotations({ identifier: "EventMapping" }),
  Schema.Struct({ ...ChartMappingFields, ...MappingCommon }).annotations({ identifier: "ChartMapping" }),
  Schema.Struct({ ...FunnelMappingFields, ...MappingCommon }).annotations({ identifier: "FunnelMapping" }),
  Schema.Struct({ ...CohortSizeMappingFields, ...MappingCommon }).annotations({ identifier: "CohortSizeMapping" }),
  Schema.Struct({ ...TemplateMappingFields, ...MappingCommon }).annotations({ identifier: "TemplateMapping" })
)
export type Mapping = typeof Mapping.Type

export const MetricWithMapping = Schema.Struct({
  ...Metric.fields,
  amplitudeMapping: Schema.NullOr(Mapping)
})

export const SavedMapping = Schema.Struct({
  mapping: Mapping,
  warnings: Schema.Array(Schema.String)
})

export const MetricPath = Schema.Struct({ ...WorkspacePath.fields, metricId: MetricId })

export const CreateMetric = Schema.Struct({
  name: DisplayText(METRIC_NAME_MAX),
  unit: MetricUnit,
  description: Schema.optional(Schema.NullOr(Description))
})

export const UpdateMetric = Schema.Struct({
  name: Schema.optional(DisplayText(METRIC_NAME_MAX)),
  unit: Schema.optional(MetricUnit),
  description: Schema.optional(Schema.NullOr(Description))
})

export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.post("create", "/v1/workspaces/:workspaceId/metrics")
      .setPath(WorkspacePath)
      .setPayload(CreateMetric)
      .addSuccess(Metric, { status: 201 })
      .addError(MetricNameTaken)
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/workspaces/:workspaceId/metrics")
      .setPath(WorkspacePath)
      .addSuccess(Schema.Struct({ metrics: Schema.Array(MetricWithMapping) }))
  )
  .add(
    HttpApiEndpoint.patch("update", "/v1/workspaces/:workspaceId/metrics/:metricId")
      .setPath(MetricPath)
      .setPayload(UpdateMetric)
      .addSuccess(Metric)
      .addError(MetricNameTaken)
  )
  .add(
    HttpApiEndpoint.put("putMapping", "/v1/workspaces/:workspaceId/metrics/:metricId/amplitude-mapping")
      .setPath(MetricPath)
      .setPayload(MappingParams)
      .addSuccess(SavedMapping)
  )
  .add(
    HttpApiEndpoint.get("getMapping", "/v1/workspaces/:workspaceId/metrics/:metricId/amplitude-mapping")
      .setPath(MetricPath)
      .addSuccess(Mapping)
  )
  .add(
    HttpApiEndpoint.del("deleteMapping", "/v1/workspaces/:workspaceId/metrics/:metricId/amplitude-mapping")
      .setPath(MetricPath)
      .addSuccess(HttpApiSchema.NoContent)
  )
  .pipe(withWorkspaceAccess)
{}
