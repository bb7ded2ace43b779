import { Chunk, Effect, Option, Schema, Stream } from "effect"
import { IdString } from "./Cohorts.js"
import { defineCall, experimentCall, type ExperimentCallFailure } from "./internal/Call.js"
import { optionalNullable } from "./internal/Replies.js"

export interface ExperimentVariant {
  readonly key: string
  readonly name: string | null
}

/** An Amplitude Experiment (Experiment Management API). Ids are strings, whatever Amplitude sends. */
export interface Experiment {
  readonly id: string
  readonly projectId: string | null
  readonly key: string
  readonly name: string
  readonly description: string | null
  /** `planning`, `running`, … (the full set is undocumented). */
  readonly state: string | null
  /** `rollout`, `rollback`, `continue-running` or null. */
  readonly decision: string | null
  readonly decisionReason: string | null
  readonly rolledOutVariant: string | null
  readonly enabled: boolean | null
  readonly experimentType: string | null
  readonly variants: ReadonlyArray<ExperimentVariant>
  /** As Amplitude sends them: a date (`2024-02-22`) or an ISO instant. */
  readonly startDate: string | null
  readonly endDate: string | null
  readonly archived: boolean
  readonly deleted: boolean
  readonly tags: ReadonlyArray<string>
  readonly createdAt: string | null
  readonly lastModifiedAt: string | null
}

export interface ExperimentListOptions {
  /** Default false: active experiments only. */
  readonly includeArchived?: boolean
  /** Experiments per request, 1–1000. Default 1000. */
  readonly pageSize?: number
}

const Variant = Schema.Struct({ key: Schema.String, name: optionalNullable(Schema.String) })

const ExperimentItem = Schema.Struct({
  id: IdString,
  projectId: optionalNullable(IdString),
  key: Schema.String,
  name: optionalNullable(Schema.String),
  description: optionalNullable(Schema.String),
  state: optionalNullable(Schema.String),
  decision: optionalNullable(Schema.String),
  decisionReason: optionalNullable(Schema.String),
  rolledOutVariant: optionalNullable(Schema.String),
  enabled: optionalNullable(Schema.Boolean),
  experimentType: optionalNullable(Schema.String),
  variants: optionalNullable(Schema.Array(Variant)),
  startDate: optionalNullable(Schema.String),
  endDate: optionalNullable(Schema.String),
  archived: optionalNullable(Schema.Boolean),
  deleted: optionalNullable(Schema.Boolean),
  tags: optionalNullable(Schema.Array(Schema.String)),
  createdAt: optionalNullable(Schema.String),
  lastModifiedAt: optionalNullable(Schema.String)
})
type ExperimentItem = typeof ExperimentItem.Type

const Cursor = Schema.Struct({ nextCursor: Schema.NullOr(Schema.String) })

/**
 * `{"experiments":[…],"nextCursor":"…"|null}`, the last page with `nextCursor: null` or without it. The docs'
 * example puts `{"nextCursor"}` inside the array; such an element is read as the cursor.
 */
export const ExperimentPageReply = Schema.Struct({
  experiments: Schema.Array(Schema.Union(ExperimentItem, Cursor)),
  nextCursor: optionalNullable(Schema.String)
})

export const ExperimentReply = ExperimentItem

export const toExperiment = (item: ExperimentItem): Experiment => ({
  id: item.id,
  projectId: item.projectId ?? null,
  key: item.key,
  name: item.name ?? item.key,
  description: item.description ?? null,
  state: item.state ?? null,
  decision: item.decision ?? null,
  decisionReason: item.decisionReason ?? null,
  rolledOutVariant: item.rolledOutVariant ?? null,
  enabled: item.enabled ?? null,
  experimentType: item.experimentType ?? null,
  variants: (item.variants ?? []).map((variant) => ({ key: variant.key, name: variant.name ?? null })),
  startDate: item.startDate ?? null,
  endDate: item.endDate ?? null,
  archived: item.archived ?? false,
  deleted: item.deleted ?? false,
  tags: item.tags ?? [],
  createdAt: item.createdAt ?? null,
  lastModifiedAt: item.lastModifiedAt ?? null
})

export const toExperimentPage = (
  reply: typeof ExperimentPageReply.Type
): { readonly experiments: Array<Experiment>; readonly nextCursor: string | null } => {
  let nextCursor = reply.nextCursor ?? null
  const experiments: Array<Experiment> = []
  for (const entry of reply.experiments) {
    if ("key" in entry) experiments.push(toExperiment(entry))
    else nextCursor = nextCursor ?? entry.nextCursor
  }
  return { experiments, nextCursor: nextCursor === "" ? null : nextCursor }
}

const PAGE_SIZE = 1000

/** One page of the experiment list and the cursor of the next, null on the last page. */
export interface ExperimentPage {
  readonly experiments: ReadonlyArray<Experiment>
  readonly nextCursor: string | null
}

/** `GET /api/1/experiments`: one page, from `cursor` on (the first page without one). */
export const listExperimentPage = experimentCall((options: ExperimentListOptions, cursor?: string) => ({
  request: {
    endpoint: "/api/1/experiments",
    urlParams: [
      ["limit", String(Math.min(PAGE_SIZE, Math.max(1, options.pageSize ?? PAGE_SIZE)))],
      ...(options.includeArchived === true ? [["includeArchived", "true"] as const] : []),
      ...(cursor === undefined ? [] : [["cursor", cursor] as const])
    ]
  },
  reply: ExperimentPageReply,
  map: (reply): ExperimentPage => {
    const page = toExperimentPage(reply)
    // A cursor that does not move would page forever.
    return page.nextCursor === cursor ? { ...page, nextCursor: null } : page
  }
}))

/** Every experiment, most recently created first, fetched page by page as the stream is pulled. */
export const listExperiments = defineCall("experiment", (sender, name) => {
  const page = listExperimentPage.bind(sender, `${name}Page`)
  return (options: ExperimentListOptions = {}): Stream.Stream<Experiment, ExperimentCallFailure> =>
    Stream.paginateChunkEffect(
      undefined as string | undefined,
      (cursor) =>
        Effect.map(
          page(options, cursor),
          ({ experiments, nextCursor }) => [Chunk.fromIterable(experiments), Option.fromNullable(nextCursor)] as const
        )
    ).pipe(Stream.withSpan(sender.spanName(name), { attributes: { "amplitude.region": sender.region } }))
})

/** `GET /api/1/experiments/:id`; `None` when Amplitude does not know the id. */
export const getExperiment = experimentCall((id: string) => ({
  request: { endpoint: "/api/1/experiments/:id", path: `/api/1/experiments/${encodeURIComponent(id)}` },
  reply: ExperimentReply,
  onStatus: (reply) => reply.status === 404 ? Effect.succeed(Option.none<Experiment>()) : undefined,
  map: (decoded) => Option.some(toExperiment(decoded))
}))
