import { Effect, Option, Schema } from "effect"
import { analyticsCall, type CallRequest } from "./internal/Call.js"
import { optionalNullable } from "./internal/Replies.js"

/** A behavioral cohort (`GET /api/3/cohorts`). */
export interface Cohort {
  /** Amplitude's cohort id, e.g. `"9apg8e8f"`; the value for `Segment.cohort`. */
  readonly id: string
  readonly name: string
  readonly description: string | null
  /** Members at the last computation; null when Amplitude left it out. */
  readonly size: number | null
  readonly archived: boolean
  readonly lastComputedAt: Date | null
  /** Numeric project id ("app id"). */
  readonly appId: number | null
}

/** Ids are strings in the docs; numbers are accepted and turned into strings. */
export const IdString = Schema.Union(
  Schema.String,
  Schema.transform(Schema.Number, Schema.String, { strict: true, decode: (n) => String(n), encode: (s) => Number(s) })
)

const CohortItem = Schema.Struct({
  id: IdString,
  name: Schema.String,
  description: optionalNullable(Schema.String),
  size: optionalNullable(Schema.Number),
  archived: optionalNullable(Schema.Boolean),
  lastComputed: optionalNullable(Schema.Number),
  appId: optionalNullable(Schema.Union(Schema.Number, Schema.NumberFromString))
})
type CohortItem = typeof CohortItem.Type

export const CohortListReply = Schema.Struct({ cohorts: Schema.Array(CohortItem) })
export const CohortReply = Schema.Struct({ cohort: CohortItem })

/** `lastComputed` is epoch seconds in the docs; a value that large must be milliseconds. */
const epoch = (value: number): Date => new Date(value > 100_000_000_000 ? value : value * 1000)

export const toCohort = (item: CohortItem): Cohort => ({
  id: item.id,
  name: item.name,
  description: item.description ?? null,
  size: item.size ?? null,
  archived: item.archived ?? false,
  lastComputedAt: item.lastComputed == null ? null : epoch(item.lastComputed),
  appId: item.appId ?? null
})

/** The cohort list's request; validation sends it too, for the project's app id. */
export const COHORT_LIST: CallRequest = { endpoint: "/api/3/cohorts" }

/** `GET /api/3/cohorts`. */
export const listCohorts = analyticsCall(() => ({
  request: COHORT_LIST,
  reply: CohortListReply,
  refused: "Amplitude refused the cohort list",
  map: (decoded): Array<Cohort> => decoded.cohorts.map(toCohort)
}))

/** `GET /api/3/cohorts/:id`; `None` when the cohort does not exist (any more). */
export const getCohort = analyticsCall((id: string) => ({
  request: { endpoint: "/api/3/cohorts/:id", path: `/api/3/cohorts/${encodeURIComponent(id)}` },
  reply: CohortReply,
  refused: "Amplitude refused the cohort lookup",
  onStatus: (reply) => reply.status === 404 ? Effect.succeed(Option.none<Cohort>()) : undefined,
  map: (decoded) => Option.some(toCohort(decoded.cohort))
}))
