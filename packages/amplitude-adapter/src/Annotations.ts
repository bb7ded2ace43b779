import { Schema } from "effect"
import { isoInstant } from "./Dates.js"

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

const optionalNullable = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.optionalWith(Schema.NullOr(schema), { default: () => null })

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
  end: item.end === null ? null : new Date(item.end),
  details: item.details,
  category: item.category === null ? null : toCategory(item.category),
  chartId: item.chart_id === null ? null : String(item.chart_id)
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
