import type { AmplitudeRejected } from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import { isoInstant } from "./Dates.js"
import { analyticsCall, defineCall, spannedCall } from "./internal/Call.js"
import { optionalNullable } from "./internal/Replies.js"

/** A chart annotation category (v3). Amplitude names the field `category` (observed) or `name` (docs). */
export interface AnnotationCategory {
  readonly id: number
  readonly name: string
}

/** A chart annotation (v3). */
export interface Annotation {
  readonly id: number
  readonly label: string
  readonly start: Date
  readonly end: Date | null
  readonly details: string | null
  readonly category: AnnotationCategory | null
  /** null: shown on every chart of the project. */
  readonly chartId: string | null
}

export interface NewAnnotation {
  readonly label: string
  readonly start: Date
  readonly end?: Date
  readonly details?: string
  /** Category name; it must exist (see `ensureAnnotationCategory`). Default: Amplitude's "Uncategorized". */
  readonly category?: string
  /** Omitted: the annotation appears on every chart. */
  readonly chartId?: string
}

/** A partial update (`PUT`): only the fields present are changed; `null` clears `end`, `details` or `chartId`. */
export interface AnnotationPatch {
  readonly label?: string
  readonly start?: Date
  readonly end?: Date | null
  readonly details?: string | null
  readonly category?: string
  readonly chartId?: string | null
}

/** `GET /api/3/annotations` filter. Amplitude does not combine `category` with `chartId`. */
export type AnnotationFilter =
  & { readonly start?: Date; readonly end?: Date }
  & ({ readonly category?: string; readonly chartId?: never } | {
    readonly chartId?: string
    readonly category?: never
  })

const NumericId = Schema.Union(Schema.Number, Schema.NumberFromString)

const CategoryItem = Schema.Struct({
  id: NumericId,
  name: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String)
})
type CategoryItem = typeof CategoryItem.Type

const toCategory = (item: CategoryItem): AnnotationCategory => ({ id: item.id, name: item.category ?? item.name ?? "" })

const Instant = Schema.String.pipe(Schema.filter((s) => !Number.isNaN(Date.parse(s)), { message: () => "instant" }))

const AnnotationItem = Schema.Struct({
  id: NumericId,
  label: Schema.String,
  start: Instant,
  end: optionalNullable(Instant),
  details: optionalNullable(Schema.String),
  category: optionalNullable(CategoryItem),
  chart_id: optionalNullable(Schema.Union(Schema.String, Schema.Number))
})
type AnnotationItem = typeof AnnotationItem.Type

export const CategoryListReply = Schema.Struct({ data: Schema.Array(CategoryItem) })
export const CategoryReply = Schema.Struct({ data: CategoryItem })
export const AnnotationListReply = Schema.Struct({ data: Schema.Array(AnnotationItem) })
export const AnnotationReply = Schema.Struct({ data: AnnotationItem })
export const SuccessReply = Schema.Struct({})

export const toCategories = (reply: typeof CategoryListReply.Type): Array<AnnotationCategory> =>
  reply.data.map(toCategory)

export const categoryOf = (reply: typeof CategoryReply.Type): AnnotationCategory => toCategory(reply.data)

export const toAnnotation = (item: AnnotationItem): Annotation => ({
  id: item.id,
  label: item.label,
  start: new Date(item.start),
  end: item.end == null ? null : new Date(item.end),
  details: item.details ?? null,
  category: item.category == null ? null : toCategory(item.category),
  chartId: item.chart_id == null ? null : String(item.chart_id)
})

export const createBody = (annotation: NewAnnotation): Record<string, string> => ({
  label: annotation.label,
  start: isoInstant(annotation.start),
  ...(annotation.end === undefined ? {} : { end: isoInstant(annotation.end) }),
  ...(annotation.details === undefined ? {} : { details: annotation.details }),
  ...(annotation.category === undefined ? {} : { category: annotation.category }),
  ...(annotation.chartId === undefined ? {} : { chart_id: annotation.chartId })
})

export const patchBody = (patch: AnnotationPatch): Record<string, string | null> => ({
  ...(patch.label === undefined ? {} : { label: patch.label }),
  ...(patch.start === undefined ? {} : { start: isoInstant(patch.start) }),
  ...(patch.end === undefined ? {} : { end: patch.end === null ? null : isoInstant(patch.end) }),
  ...(patch.details === undefined ? {} : { details: patch.details }),
  ...(patch.category === undefined ? {} : { category: patch.category }),
  ...(patch.chartId === undefined ? {} : { chart_id: patch.chartId })
})

export const filterParams = (filter: AnnotationFilter): Array<readonly [string, string]> => [
  ...(filter.category === undefined ? [] : [["category", filter.category] as const]),
  ...(filter.chartId === undefined ? [] : [["chart_id", filter.chartId] as const]),
  ...(filter.start === undefined ? [] : [["start", isoInstant(filter.start)] as const]),
  ...(filter.end === undefined ? [] : [["end", isoInstant(filter.end)] as const])
]

/** `GET /api/3/annotation-categories`. */
export const listAnnotationCategories = analyticsCall(() => ({
  request: { endpoint: "/api/3/annotation-categories" },
  reply: CategoryListReply,
  refused: "Amplitude refused the annotation category list",
  map: toCategories
}))

/** `POST /api/3/annotation-categories`; `AmplitudeRejected` 409 when the name is taken (see `ensureAnnotationCategory`). */
export const createAnnotationCategory = analyticsCall((name: string) => ({
  request: {
    method: "POST",
    endpoint: "/api/3/annotation-categories",
    body: { json: { category: name } },
    // A repeated create answers 409, which `ensureAnnotationCategory` resolves.
    idempotent: true
  },
  reply: CategoryReply,
  refused: "Amplitude refused to create the annotation category",
  map: categoryOf
}))

/** Finds the category by name or creates it; a concurrent creator (409) is tolerated. */
export const ensureAnnotationCategory = defineCall("analytics", (sender, name) => {
  const list = listAnnotationCategories.bind(sender, "listAnnotationCategories")
  const create = createAnnotationCategory.bind(sender, "createAnnotationCategory")
  const find = (category: string) => Effect.map(list(), (categories) => categories.find((c) => c.name === category))
  return spannedCall(sender, name, (category: string) =>
    Effect.gen(function*() {
      const existing = yield* find(category)
      if (existing !== undefined) return existing
      return yield* create(category).pipe(
        Effect.catchIf(
          (error): error is AmplitudeRejected => error._tag === "AmplitudeRejected" && error.status === 409,
          (conflict) =>
            Effect.flatMap(
              find(category),
              (found) => found === undefined ? Effect.fail(conflict) : Effect.succeed(found)
            )
        )
      )
    }))
})

const annotationPath = (id: number) => `/api/3/annotations/${encodeURIComponent(String(id))}`

/**
 * `POST /api/3/annotations`. Never retried after a timeout or 5xx (it may have been created): callers make it
 * idempotent with a marker in `details` and a lookup before creating.
 */
export const createAnnotation = analyticsCall((annotation: NewAnnotation) => ({
  request: { method: "POST", endpoint: "/api/3/annotations", body: { json: createBody(annotation) } },
  reply: AnnotationReply,
  refused: "Amplitude refused the annotation",
  map: (decoded) => toAnnotation(decoded.data)
}))

/** `GET /api/3/annotations/:id`; `None` when Amplitude does not know the id (404). */
export const getAnnotation = analyticsCall((id: number) => ({
  request: { endpoint: "/api/3/annotations/:id", path: annotationPath(id) },
  reply: AnnotationReply,
  refused: "Amplitude refused the annotation lookup",
  onStatus: (reply) => reply.status === 404 ? Effect.succeed(Option.none<Annotation>()) : undefined,
  map: (decoded) => Option.some(toAnnotation(decoded.data))
}))

/** `GET /api/3/annotations`; an unknown category (404) has none. */
export const listAnnotations = analyticsCall((filter: AnnotationFilter = {}) => ({
  request: { endpoint: "/api/3/annotations", urlParams: filterParams(filter) },
  reply: AnnotationListReply,
  refused: "Amplitude refused the annotation list",
  onStatus: (reply) =>
    reply.status === 404 && filter.category !== undefined ? Effect.succeed<Array<Annotation>>([]) : undefined,
  map: (decoded): Array<Annotation> => decoded.data.map(toAnnotation)
}))

/** `PUT /api/3/annotations/:id`, a partial update; `AmplitudeRejected` 404 when the annotation was deleted in Amplitude. */
export const updateAnnotation = analyticsCall((id: number, patch: AnnotationPatch) => ({
  request: {
    method: "PUT",
    endpoint: "/api/3/annotations/:id",
    path: annotationPath(id),
    body: { json: patchBody(patch) }
  },
  reply: AnnotationReply,
  refused: "Amplitude refused the annotation update",
  map: (decoded) => toAnnotation(decoded.data)
}))

/** `DELETE /api/3/annotations/:id`; succeeds when the annotation is already gone (404). */
export const deleteAnnotation = analyticsCall((id: number) => ({
  request: { method: "DELETE", endpoint: "/api/3/annotations/:id", path: annotationPath(id) },
  reply: SuccessReply,
  refused: "Amplitude refused the deletion",
  onStatus: (reply) => reply.status === 404 ? Effect.void : undefined,
  map: (): void => undefined
}))
