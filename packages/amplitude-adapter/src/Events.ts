import { AmplitudeRejected } from "@findry/domain"
import { Effect, Schema } from "effect"
import { analyticsCall, type CallRequest } from "./internal/Call.js"
import { optionalNullable, type Reply } from "./internal/Replies.js"

/** An event of `GET /api/2/events/list`: visible events with the current week's figures. */
export interface EventSummary {
  /** Raw event type, as used in queries. */
  readonly name: string
  readonly displayName: string | null
  /** Occurrences this week; null when Amplitude left it out. */
  readonly totals: number | null
  readonly hidden: boolean
  readonly deleted: boolean
}

/** An event of the Taxonomy API (`GET /api/2/taxonomy/event`); plan-gated. */
export interface TaxonomyEvent {
  readonly eventType: string
  readonly displayName: string | null
  readonly description: string | null
  readonly category: string | null
  readonly active: boolean | null
}

/** A Taxonomy event category (`GET /api/2/taxonomy/category`). */
export interface EventCategory {
  readonly id: number | null
  readonly name: string
}

const EventListItem = Schema.Struct({
  value: Schema.optional(Schema.NullOr(Schema.String)),
  name: Schema.optional(Schema.NullOr(Schema.String)),
  display: optionalNullable(Schema.String),
  totals: optionalNullable(Schema.Number),
  hidden: optionalNullable(Schema.Boolean),
  deleted: optionalNullable(Schema.Boolean)
})

export const EventListReply = Schema.Struct({ data: Schema.Array(EventListItem) })

export const toEventSummaries = (reply: typeof EventListReply.Type): Array<EventSummary> =>
  reply.data.flatMap((item) => {
    const name = item.value ?? item.name
    if (name === undefined || name === null) return []
    return [{
      name,
      displayName: item.display ?? null,
      totals: item.totals ?? null,
      hidden: item.hidden ?? false,
      deleted: item.deleted ?? false
    }]
  })

/** `{"name": …}` per the docs; a bare string is accepted too. */
const CategoryRef = Schema.Union(Schema.String, Schema.Struct({ name: Schema.String }))

const TaxonomyEventItem = Schema.Struct({
  event_type: Schema.String,
  display_name: optionalNullable(Schema.String),
  description: optionalNullable(Schema.String),
  category: optionalNullable(CategoryRef),
  is_active: optionalNullable(Schema.Boolean)
})

export const TaxonomyEventsReply = Schema.Struct({ data: Schema.Array(TaxonomyEventItem) })

export const toTaxonomyEvents = (reply: typeof TaxonomyEventsReply.Type): Array<TaxonomyEvent> =>
  reply.data.map((item) => ({
    eventType: item.event_type,
    displayName: item.display_name ?? null,
    description: item.description ?? null,
    category: item.category == null ? null : typeof item.category === "string" ? item.category : item.category.name,
    active: item.is_active ?? null
  }))

const NumericId = Schema.Union(Schema.Number, Schema.NumberFromString)

const TaxonomyCategoryItem = Schema.Struct({ id: optionalNullable(NumericId), name: Schema.String })

export const TaxonomyCategoriesReply = Schema.Struct({ data: Schema.Array(TaxonomyCategoryItem) })

/** The event list's request; validation sends it too. */
export const EVENT_LIST: CallRequest = { endpoint: "/api/2/events/list", cost: 1 }

/** The Taxonomy category list's request; validation sends it too, to learn whether the plan has the Taxonomy API. */
export const TAXONOMY_CATEGORIES: CallRequest = { endpoint: "/api/2/taxonomy/category" }

/** `GET /api/2/events/list`: visible events with this week's totals. */
export const listEvents = analyticsCall(() => ({
  request: EVENT_LIST,
  reply: EventListReply,
  refused: "Amplitude refused the event list",
  map: toEventSummaries
}))

/** The Taxonomy API is plan-gated; Amplitude answers 400 or 403 for projects without it. */
const taxonomyUnavailable = (reply: Reply) =>
  reply.status === 400 || reply.status === 403
    ? Effect.fail(
      new AmplitudeRejected({
        status: reply.status,
        message: "The Amplitude Taxonomy API is not available for this project (Enterprise plan or Govern add-on)."
      })
    )
    : undefined

/** `GET /api/2/taxonomy/event` (plan-gated: `AmplitudeRejected` 400/403 without the Taxonomy API). */
export const listTaxonomyEvents = analyticsCall(() => ({
  request: { endpoint: "/api/2/taxonomy/event" },
  reply: TaxonomyEventsReply,
  refused: "Amplitude refused the Taxonomy event list",
  onStatus: taxonomyUnavailable,
  map: toTaxonomyEvents
}))

/** `GET /api/2/taxonomy/category` (plan-gated). */
export const listEventCategories = analyticsCall(() => ({
  request: TAXONOMY_CATEGORIES,
  reply: TaxonomyCategoriesReply,
  refused: "Amplitude refused the Taxonomy category list",
  onStatus: taxonomyUnavailable,
  map: (decoded): Array<EventCategory> => decoded.data.map((item) => ({ id: item.id ?? null, name: item.name }))
}))
