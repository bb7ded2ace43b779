import type { SecretOpener } from "@findry/crypto/opener"
import type { AmplitudeCallError, AmplitudeRegion, ExperimentCallError } from "@findry/domain"
import { AmplitudeRejected, InvalidCredentials } from "@findry/domain"
import { Cause, Chunk, Effect, Exit, Option, type Schema, Stream } from "effect"
import {
  type Annotation,
  type AnnotationCategory,
  type AnnotationFilter,
  AnnotationListReply,
  type AnnotationPatch,
  AnnotationReply,
  CategoryListReply,
  categoryOf,
  CategoryReply,
  createBody,
  filterParams,
  type NewAnnotation,
  patchBody,
  SuccessReply,
  toAnnotation,
  toCategories
} from "./Annotations.js"
import type { CallPolicy } from "./CallPolicy.js"
import { type Cohort, CohortListReply, CohortReply, toCohort } from "./Cohorts.js"
import { credentialBinding } from "./CredentialSlots.js"
import { type CredentialSlot, CredentialsUnreadable } from "./CredentialsUnreadable.js"
import {
  type EventCategory,
  EventListReply,
  type EventSummary,
  TaxonomyCategoriesReply,
  type TaxonomyEvent,
  TaxonomyEventsReply,
  toEventSummaries,
  toTaxonomyEvents
} from "./Events.js"
import {
  type Experiment,
  type ExperimentListOptions,
  ExperimentPageReply,
  ExperimentReply,
  toExperiment,
  toExperimentPage
} from "./Experiments.js"
import { funnelCost, funnelParams, type FunnelQuery, FunnelReply, type FunnelResult, toFunnelResult } from "./Funnel.js"
import {
  type Credentials,
  managementKey as managementKeyCredentials,
  projectKeys,
  scrub
} from "./internal/Credentials.js"
import { decodeBody, errorText, expectSuccess, experimentRejection, isSuccess, type Reply } from "./internal/Replies.js"
import type { AmplitudeRequest, Transport } from "./internal/Transport.js"
import { ChartCsvReply, ChartQueryReply, fromCsv, fromQueryAnswer, type SavedChartResult } from "./SavedChart.js"
import { isCountMetric, segmentationCost, segmentationParams, type SegmentationQuery } from "./Segmentation.js"
import { SeriesReply, type SeriesResult, toSeriesResult } from "./Series.js"
import {
  sessionLengthCost,
  sessionLengthParams,
  type SessionLengthQuery,
  usersCost,
  usersParams,
  type UsersQuery
} from "./UserMetrics.js"

/**
 * An Amplitude connection as stored: sealed credentials in slots 1 (API key), 2 (secret key) and
 * 3 (management key) of the workspace's `amplitude` integration row.
 */
export interface StoredConnection {
  readonly workspaceId: string
  readonly region: AmplitudeRegion
  readonly apiKey: Uint8Array
  readonly secretKey: Uint8Array
  readonly managementKey: Uint8Array | null
}

/** What a call on a stored connection can fail with: Amplitude's answer, or keys that could not be opened. */
export type AmplitudeCallFailure = AmplitudeCallError | CredentialsUnreadable

/** What an Experiment Management API call on a stored connection can fail with. */
export type ExperimentCallFailure = ExperimentCallError | CredentialsUnreadable

/** Experiment Management API calls; present only when the connection has a management key. */
export interface AmplitudeExperiments {
  /** Every experiment, most recently created first, fetched page by page as the stream is pulled. */
  readonly list: (options?: ExperimentListOptions) => Stream.Stream<Experiment, ExperimentCallFailure>
  /** `None` when Amplitude does not know the id. */
  readonly get: (id: string) => Effect.Effect<Option.Option<Experiment>, ExperimentCallFailure>
}

/**
 * Every call the product makes on a connected Amplitude project. Credentials are opened on first use and
 * kept in memory (as `Redacted`) for the handle's lifetime; create a handle per request or job.
 */
export interface AmplitudeConnection {
  readonly region: AmplitudeRegion
  readonly policy: CallPolicy
  /** `GET /api/2/events/list`: visible events with this week's totals. */
  readonly listEvents: () => Effect.Effect<ReadonlyArray<EventSummary>, AmplitudeCallFailure>
  /** `GET /api/2/taxonomy/event` (plan-gated: `AmplitudeRejected` 400/403 without the Taxonomy API). */
  readonly listTaxonomyEvents: () => Effect.Effect<ReadonlyArray<TaxonomyEvent>, AmplitudeCallFailure>
  /** `GET /api/2/taxonomy/category` (plan-gated). */
  readonly listEventCategories: () => Effect.Effect<ReadonlyArray<EventCategory>, AmplitudeCallFailure>
  readonly listAnnotationCategories: () => Effect.Effect<ReadonlyArray<AnnotationCategory>, AmplitudeCallFailure>
  /** Fails with `AmplitudeRejected` 409 when the name is taken; see `ensureAnnotationCategory`. */
  readonly createAnnotationCategory: (name: string) => Effect.Effect<AnnotationCategory, AmplitudeCallFailure>
  /** Finds the category by name or creates it; a concurrent creator (409) is tolerated. */
  readonly ensureAnnotationCategory: (name: string) => Effect.Effect<AnnotationCategory, AmplitudeCallFailure>
  /**
   * `POST /api/3/annotations`. Never retried after a timeout or 5xx (it may have been created): callers make
   * it idempotent with a marker in `details` and a lookup before creating.
   */
  readonly createAnnotation: (annotation: NewAnnotation) => Effect.Effect<Annotation, AmplitudeCallFailure>
  readonly getAnnotation: (id: number) => Effect.Effect<Option.Option<Annotation>, AmplitudeCallFailure>
  readonly listAnnotations: (
    filter?: AnnotationFilter
  ) => Effect.Effect<ReadonlyArray<Annotation>, AmplitudeCallFailure>
  /** `PUT` partial update; `AmplitudeRejected` 404 when the annotation was deleted in Amplitude. */
  readonly updateAnnotation: (id: number, patch: AnnotationPatch) => Effect.Effect<Annotation, AmplitudeCallFailure>
  /** Succeeds when the annotation is already gone (404). */
  readonly deleteAnnotation: (id: number) => Effect.Effect<void, AmplitudeCallFailure>
  readonly listCohorts: () => Effect.Effect<ReadonlyArray<Cohort>, AmplitudeCallFailure>
  /** `None` when the cohort does not exist (any more). */
  readonly getCohort: (id: string) => Effect.Effect<Option.Option<Cohort>, AmplitudeCallFailure>
  /** `GET /api/2/events/segmentation`. */
  readonly segmentation: (query: SegmentationQuery) => Effect.Effect<SeriesResult, AmplitudeCallFailure>
  /** `GET /api/2/funnels`. */
  readonly funnel: (query: FunnelQuery) => Effect.Effect<FunnelResult, AmplitudeCallFailure>
  /**
   * A saved chart: `/api/3/chart/:id/query`, then `/csv` on a 4xx other than 429. A chart that neither
   * serves is `AmplitudeRejected` with the last status ("chart not found or not accessible").
   */
  readonly savedChart: (chartId: string) => Effect.Effect<SavedChartResult, AmplitudeCallFailure>
  /** `GET /api/2/users`: active or new users. */
  readonly users: (query: UsersQuery) => Effect.Effect<SeriesResult, AmplitudeCallFailure>
  /** `GET /api/2/sessions/average`: seconds per day. */
  readonly averageSessionLength: (query: SessionLengthQuery) => Effect.Effect<SeriesResult, AmplitudeCallFailure>
  readonly experiments: Option.Option<AmplitudeExperiments>
}

/**
 * Runs `effect` once and replays its result (an interruption is not kept); a concurrent first use may run it
 * twice, which is harmless for opening credentials.
 */
const once = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  let result: Exit.Exit<A, E> | undefined
  return Effect.suspend(() =>
    result !== undefined ? result : Effect.flatten(Effect.tap(Effect.exit(effect), (exit) => {
      if (Exit.isSuccess(exit) || !Cause.isInterrupted(exit.cause)) result = exit
    }))
  )
}

/** The Taxonomy API is plan-gated; Amplitude answers 400 or 403 for projects without it. */
const taxonomyUnavailable = (reply: Reply) =>
  new AmplitudeRejected({
    status: reply.status,
    message: "The Amplitude Taxonomy API is not available for this project (Enterprise plan or Govern add-on)."
  })

export interface ConnectionDependencies {
  readonly transport: Transport
  readonly opener: SecretOpener
}

export const makeConnection = (
  { opener, transport }: ConnectionDependencies,
  stored: StoredConnection,
  policy: CallPolicy
): AmplitudeConnection => {
  const { region } = stored

  const open = (sealed: Uint8Array, slot: CredentialSlot) =>
    opener.open(sealed, credentialBinding(stored.workspaceId, slot)).pipe(
      Effect.mapError((error) => new CredentialsUnreadable({ slot, reason: error.reason }))
    )

  const projectCredentials = once(
    Effect.map(
      Effect.all([open(stored.apiKey, "apiKey"), open(stored.secretKey, "secretKey")]),
      ([apiKey, secretKey]) => projectKeys(apiKey, secretKey)
    )
  )

  const send = (credentials: Credentials, request: AmplitudeRequest) =>
    Effect.annotateCurrentSpan({ "amplitude.region": region, "amplitude.endpoint": request.endpoint }).pipe(
      Effect.zipRight(transport.send({ region, credentials, policy }, request)),
      Effect.tap((reply) => Effect.annotateCurrentSpan("http.response.status_code", reply.status))
    )

  /** Sends an analytics request and decodes its 2xx answer; any other status becomes its typed failure. */
  const analytics = <A, I>(
    request: Omit<AmplitudeRequest, "host" | "idempotent"> & { readonly idempotent?: boolean },
    schema: Schema.Schema<A, I>,
    fallback: string
  ): Effect.Effect<A, AmplitudeCallFailure> =>
    Effect.flatMap(projectCredentials, (credentials) =>
      Effect.flatMap(
        send(credentials, { host: "analytics", idempotent: request.method !== "POST", ...request }),
        (reply) => expectSuccess(schema, reply, credentials, request.endpoint, fallback)
      ))

  /** Sends an analytics request and returns the answer whatever its status, for calls that give a status a meaning. */
  const analyticsReply = (
    request: Omit<AmplitudeRequest, "host" | "idempotent">
  ): Effect.Effect<{ readonly reply: Reply; readonly credentials: Credentials }, AmplitudeCallFailure> =>
    Effect.flatMap(projectCredentials, (credentials) =>
      Effect.map(
        send(credentials, { host: "analytics", idempotent: request.method !== "POST", ...request }),
        (reply) => ({ reply, credentials })
      ))

  const listEvents = Effect.fn("AmplitudeConnection.listEvents")(function*() {
    const reply = yield* analytics(
      { method: "GET", endpoint: "/api/2/events/list", path: "/api/2/events/list", cost: 1 },
      EventListReply,
      "Amplitude refused the event list"
    )
    return toEventSummaries(reply)
  })

  const listTaxonomyEvents = Effect.fn("AmplitudeConnection.listTaxonomyEvents")(function*() {
    const reply = yield* analyticsReply({
      method: "GET",
      endpoint: "/api/2/taxonomy/event",
      path: "/api/2/taxonomy/event"
    })
    if (reply.reply.status === 400 || reply.reply.status === 403) {
      return yield* taxonomyUnavailable(reply.reply)
    }
    return toTaxonomyEvents(
      yield* expectSuccess(
        TaxonomyEventsReply,
        reply.reply,
        reply.credentials,
        "/api/2/taxonomy/event",
        "Amplitude refused the Taxonomy event list"
      )
    )
  })

  const listEventCategories = Effect.fn("AmplitudeConnection.listEventCategories")(function*() {
    const reply = yield* analyticsReply({
      method: "GET",
      endpoint: "/api/2/taxonomy/category",
      path: "/api/2/taxonomy/category"
    })
    if (reply.reply.status === 400 || reply.reply.status === 403) {
      return yield* taxonomyUnavailable(reply.reply)
    }
    const decoded = yield* expectSuccess(
      TaxonomyCategoriesReply,
      reply.reply,
      reply.credentials,
      "/api/2/taxonomy/category",
      "Amplitude refused the Taxonomy category list"
    )
    return decoded.data.map((item) => ({ id: item.id, name: item.name }))
  })

  const listAnnotationCategories = Effect.fn("AmplitudeConnection.listAnnotationCategories")(function*() {
    const reply = yield* analytics(
      { method: "GET", endpoint: "/api/3/annotation-categories", path: "/api/3/annotation-categories" },
      CategoryListReply,
      "Amplitude refused the annotation category list"
    )
    return toCategories(reply)
  })

  const createAnnotationCategory = Effect.fn("AmplitudeConnection.createAnnotationCategory")(function*(name: string) {
    const reply = yield* analytics(
      {
        method: "POST",
        endpoint: "/api/3/annotation-categories",
        path: "/api/3/annotation-categories",
        body: { json: { category: name } },
        // A repeated create answers 409, which `ensureAnnotationCategory` resolves.
        idempotent: true
      },
      CategoryReply,
      "Amplitude refused to create the annotation category"
    )
    return categoryOf(reply)
  })

  const findCategory = (name: string) =>
    Effect.map(listAnnotationCategories(), (categories) => categories.find((category) => category.name === name))

  const ensureAnnotationCategory = Effect.fn("AmplitudeConnection.ensureAnnotationCategory")(function*(name: string) {
    const existing = yield* findCategory(name)
    if (existing !== undefined) return existing
    return yield* createAnnotationCategory(name).pipe(
      Effect.catchIf(
        (error): error is AmplitudeRejected => error._tag === "AmplitudeRejected" && error.status === 409,
        (conflict) =>
          Effect.flatMap(
            findCategory(name),
            (found) => found === undefined ? Effect.fail(conflict) : Effect.succeed(found)
          )
      )
    )
  })

  const createAnnotation = Effect.fn("AmplitudeConnection.createAnnotation")(function*(annotation: NewAnnotation) {
    const reply = yield* analytics(
      {
        method: "POST",
        endpoint: "/api/3/annotations",
        path: "/api/3/annotations",
        body: { json: createBody(annotation) }
      },
      AnnotationReply,
      "Amplitude refused the annotation"
    )
    return toAnnotation(reply.data)
  })

  const getAnnotation = Effect.fn("AmplitudeConnection.getAnnotation")(function*(id: number) {
    const { credentials, reply } = yield* analyticsReply({
      method: "GET",
      endpoint: "/api/3/annotations/:id",
      path: `/api/3/annotations/${encodeURIComponent(String(id))}`
    })
    if (reply.status === 404) return Option.none<Annotation>()
    const decoded = yield* expectSuccess(
      AnnotationReply,
      reply,
      credentials,
      "/api/3/annotations/:id",
      "Amplitude refused the annotation lookup"
    )
    return Option.some(toAnnotation(decoded.data))
  })

  const listAnnotations = Effect.fn("AmplitudeConnection.listAnnotations")(function*(filter: AnnotationFilter = {}) {
    const { credentials, reply } = yield* analyticsReply({
      method: "GET",
      endpoint: "/api/3/annotations",
      path: "/api/3/annotations",
      urlParams: filterParams(filter)
    })
    if (reply.status === 404 && filter.category !== undefined) return []
    const decoded = yield* expectSuccess(
      AnnotationListReply,
      reply,
      credentials,
      "/api/3/annotations",
      "Amplitude refused the annotation list"
    )
    return decoded.data.map(toAnnotation)
  })

  const updateAnnotation = Effect.fn("AmplitudeConnection.updateAnnotation")(
    function*(id: number, patch: AnnotationPatch) {
      const reply = yield* analytics(
        {
          method: "PUT",
          endpoint: "/api/3/annotations/:id",
          path: `/api/3/annotations/${encodeURIComponent(String(id))}`,
          body: { json: patchBody(patch) }
        },
        AnnotationReply,
        "Amplitude refused the annotation update"
      )
      return toAnnotation(reply.data)
    }
  )

  const deleteAnnotation = Effect.fn("AmplitudeConnection.deleteAnnotation")(function*(id: number) {
    const { credentials, reply } = yield* analyticsReply({
      method: "DELETE",
      endpoint: "/api/3/annotations/:id",
      path: `/api/3/annotations/${encodeURIComponent(String(id))}`
    })
    if (reply.status === 404) return
    yield* expectSuccess(SuccessReply, reply, credentials, "/api/3/annotations/:id", "Amplitude refused the deletion")
  })

  const listCohorts = Effect.fn("AmplitudeConnection.listCohorts")(function*() {
    const reply = yield* analytics(
      { method: "GET", endpoint: "/api/3/cohorts", path: "/api/3/cohorts" },
      CohortListReply,
      "Amplitude refused the cohort list"
    )
    return reply.cohorts.map(toCohort)
  })

  const getCohort = Effect.fn("AmplitudeConnection.getCohort")(function*(id: string) {
    const { credentials, reply } = yield* analyticsReply({
      method: "GET",
      endpoint: "/api/3/cohorts/:id",
      path: `/api/3/cohorts/${encodeURIComponent(id)}`
    })
    if (reply.status === 404) return Option.none<Cohort>()
    const decoded = yield* expectSuccess(
      CohortReply,
      reply,
      credentials,
      "/api/3/cohorts/:id",
      "Amplitude refused the cohort lookup"
    )
    return Option.some(toCohort(decoded.cohort))
  })

  const segmentation = Effect.fn("AmplitudeConnection.segmentation")(function*(query: SegmentationQuery) {
    const [params, cost] = yield* Effect.sync(() => [segmentationParams(query), segmentationCost(query)] as const)
    const reply = yield* analytics(
      {
        method: "GET",
        endpoint: "/api/2/events/segmentation",
        path: "/api/2/events/segmentation",
        urlParams: params,
        cost
      },
      SeriesReply,
      "Amplitude refused the segmentation query"
    )
    return toSeriesResult(reply.data, {
      missing: isCountMetric(query.metric ?? "uniques") ? 0 : null,
      collapsedIsTotal: true
    })
  })

  const funnel = Effect.fn("AmplitudeConnection.funnel")(function*(query: FunnelQuery) {
    const [params, cost] = yield* Effect.sync(() => [funnelParams(query), funnelCost(query)] as const)
    const reply = yield* analytics(
      { method: "GET", endpoint: "/api/2/funnels", path: "/api/2/funnels", urlParams: params, cost },
      FunnelReply,
      "Amplitude refused the funnel query"
    )
    return toFunnelResult(reply.data, query.steps.map((step) => step.eventType))
  })

  const chartUnavailable = (chartId: string, reply: Reply, credentials: Credentials) => {
    const detail = errorText(reply)
    return new AmplitudeRejected({
      status: reply.status,
      message: `Amplitude chart ${chartId} was not found or is not accessible` +
        (detail === undefined ? "" : ` (${scrub(credentials, detail).slice(0, 200)})`)
    })
  }

  const savedChart = Effect.fn("AmplitudeConnection.savedChart")(function*(chartId: string) {
    const path = `/api/3/chart/${encodeURIComponent(chartId)}`
    const query = yield* analyticsReply({
      method: "GET",
      endpoint: "/api/3/chart/:id/query",
      path: `${path}/query`,
      cost: 1
    })
    if (query.reply.status === 401) return yield* new InvalidCredentials({})
    if (isSuccess(query.reply)) {
      const body = yield* decodeBody(ChartQueryReply, query.reply, "/api/3/chart/:id/query")
      const result = fromQueryAnswer(body)
      if (result !== undefined) return result
    }
    const csv = yield* analyticsReply({ method: "GET", endpoint: "/api/3/chart/:id/csv", path: `${path}/csv`, cost: 1 })
    if (csv.reply.status === 401) return yield* new InvalidCredentials({})
    if (!isSuccess(csv.reply)) return yield* chartUnavailable(chartId, csv.reply, csv.credentials)
    const body = yield* decodeBody(ChartCsvReply, csv.reply, "/api/3/chart/:id/csv")
    return fromCsv(body.data)
  })

  const users = Effect.fn("AmplitudeConnection.users")(function*(query: UsersQuery) {
    const [params, cost] = yield* Effect.sync(() => [usersParams(query), usersCost(query)] as const)
    const reply = yield* analytics(
      { method: "GET", endpoint: "/api/2/users", path: "/api/2/users", urlParams: params, cost },
      SeriesReply,
      "Amplitude refused the users query"
    )
    return toSeriesResult(reply.data, { missing: 0, collapsedIsTotal: false })
  })

  const averageSessionLength = Effect.fn("AmplitudeConnection.averageSessionLength")(
    function*(query: SessionLengthQuery) {
      const [params, cost] = yield* Effect.sync(() => [sessionLengthParams(query), sessionLengthCost(query)] as const)
      const reply = yield* analytics(
        {
          method: "GET",
          endpoint: "/api/2/sessions/average",
          path: "/api/2/sessions/average",
          urlParams: params,
          cost
        },
        SeriesReply,
        "Amplitude refused the session length query"
      )
      return toSeriesResult(reply.data, { missing: null, collapsedIsTotal: false })
    }
  )

  return {
    region,
    policy,
    listEvents,
    listTaxonomyEvents,
    listEventCategories,
    listAnnotationCategories,
    createAnnotationCategory,
    ensureAnnotationCategory,
    createAnnotation,
    getAnnotation,
    listAnnotations,
    updateAnnotation,
    deleteAnnotation,
    listCohorts,
    getCohort,
    segmentation,
    funnel,
    savedChart,
    users,
    averageSessionLength,
    experiments: stored.managementKey === null
      ? Option.none()
      : Option.some(makeExperiments(
        transport,
        region,
        policy,
        once(
          Effect.map(open(stored.managementKey, "managementKey"), managementKeyCredentials)
        )
      ))
  }
}

const EXPERIMENTS_PAGE_SIZE = 1000

const makeExperiments = (
  transport: Transport,
  region: AmplitudeRegion,
  policy: CallPolicy,
  credentials: Effect.Effect<Credentials, CredentialsUnreadable>
): AmplitudeExperiments => {
  const send = (request: Omit<AmplitudeRequest, "host" | "method" | "idempotent">) =>
    Effect.flatMap(
      credentials,
      (key) =>
        Effect.annotateCurrentSpan({ "amplitude.region": region, "amplitude.endpoint": request.endpoint }).pipe(
          Effect.zipRight(
            transport.send({ region, credentials: key, policy }, {
              host: "experiment",
              method: "GET",
              idempotent: true,
              ...request
            })
          ),
          Effect.tap((reply) => Effect.annotateCurrentSpan("http.response.status_code", reply.status)),
          Effect.map((reply) => ({ reply, key }))
        )
    )

  const page = Effect.fn("AmplitudeExperiments.listPage")(
    function*(options: ExperimentListOptions, cursor: string | undefined) {
      const { key, reply } = yield* send({
        endpoint: "/api/1/experiments",
        path: "/api/1/experiments",
        urlParams: [
          ["limit", String(Math.min(EXPERIMENTS_PAGE_SIZE, Math.max(1, options.pageSize ?? EXPERIMENTS_PAGE_SIZE)))],
          ...(options.includeArchived === true ? [["includeArchived", "true"] as const] : []),
          ...(cursor === undefined ? [] : [["cursor", cursor] as const])
        ]
      })
      if (!isSuccess(reply)) return yield* experimentRejection(reply, key)
      return toExperimentPage(yield* decodeBody(ExperimentPageReply, reply, "/api/1/experiments"))
    }
  )

  const list = (options: ExperimentListOptions = {}): Stream.Stream<Experiment, ExperimentCallFailure> =>
    Stream.paginateChunkEffect(
      undefined as string | undefined,
      (cursor) =>
        Effect.map(page(options, cursor), ({ experiments, nextCursor }) =>
          [
            Chunk.unsafeFromArray(experiments),
            // A cursor that does not move would page forever.
            nextCursor === null || nextCursor === cursor ? Option.none() : Option.some(nextCursor)
          ] as const)
    ).pipe(Stream.withSpan("AmplitudeExperiments.list", { attributes: { "amplitude.region": region } }))

  const get = Effect.fn("AmplitudeExperiments.get")(function*(id: string) {
    const { key, reply } = yield* send({
      endpoint: "/api/1/experiments/:id",
      path: `/api/1/experiments/${encodeURIComponent(id)}`
    })
    if (reply.status === 404) return Option.none<Experiment>()
    if (!isSuccess(reply)) return yield* experimentRejection(reply, key)
    return Option.some(toExperiment(yield* decodeBody(ExperimentReply, reply, "/api/1/experiments/:id")))
  })

  return { list, get }
}
