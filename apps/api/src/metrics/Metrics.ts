import { ConnectionResolver, failureReason } from "@findry/amplitude-access"
import { AMPLITUDE_PROVIDER } from "@findry/amplitude-adapter"
import {
  type Mapping,
  type MappingParams,
  Metric,
  type MetricId,
  MetricNameTaken,
  type MetricUnit,
  NotFound,
  type WorkspaceId
} from "@findry/domain"
import { projectLookups } from "@findry/outcomes"
import { AuditLog, type MetricRow, MetricsRepo } from "@findry/persistence"
import { Effect, Option } from "effect"

const toMetric = (row: MetricRow) =>
  new Metric({ id: row.id, name: row.name, unit: row.unit, description: row.description })

const eventNamesOf = (params: MappingParams): ReadonlyArray<string> =>
  params.kind === "event" ? [params.event] : params.kind === "funnel" ? params.events : []

/** The metric library and each metric's Amplitude mapping (docs/product-rules.md#metrics-and-mappings). */
export class Metrics extends Effect.Service<Metrics>()("@findry/api/Metrics", {
  effect: Effect.gen(function*() {
    const repo = yield* MetricsRepo
    const audit = yield* AuditLog
    const resolver = yield* ConnectionResolver

    const requireMetric = (workspaceId: WorkspaceId, metricId: MetricId) =>
      Effect.flatMap(
        repo.find(workspaceId, metricId),
        Option.match({ onNone: () => Effect.fail(new NotFound()), onSome: Effect.succeed })
      )

    const create = Effect.fn("Metrics.create")(function*(
      workspaceId: WorkspaceId,
      input: { readonly name: string; readonly unit: MetricUnit; readonly description?: string | null | undefined }
    ) {
      const created = yield* repo.create(workspaceId, {
        name: input.name,
        unit: input.unit,
        description: emptyToNull(input.description)
      })
      if (Option.isNone(created)) return yield* new MetricNameTaken({ name: input.name })
      return toMetric(created.value)
    })

    const list = Effect.fn("Metrics.list")(function*(workspaceId: WorkspaceId) {
      const rows = yield* repo.list(workspaceId, AMPLITUDE_PROVIDER)
      return rows.map(({ mapping, metric }) => ({ ...toMetric(metric), amplitudeMapping: mapping }))
    })

    const update = Effect.fn("Metrics.update")(function*(
      workspaceId: WorkspaceId,
      metricId: MetricId,
      patch: {
        readonly name?: string | undefined
        readonly unit?: MetricUnit | undefined
        readonly description?: string | null | undefined
      }
    ) {
      const changed = yield* repo.update(workspaceId, metricId, {
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.unit === undefined ? {} : { unit: patch.unit }),
        ...(patch.description === undefined ? {} : { description: emptyToNull(patch.description) })
      })
      switch (changed._tag) {
        case "NotFound":
          return yield* new NotFound()
        case "NameTaken":
          return yield* new MetricNameTaken({ name: patch.name ?? "" })
        case "Changed":
          return toMetric(changed.metric)
      }
    })

    /**
     * What saving the mapping should tell the PM: event names the project does not know, a cohort it does not
     * have, or that nothing could be checked. Never a failure: the mapping is saved either way.
     */
    const check = (workspaceId: WorkspaceId, params: MappingParams) =>
      Effect.gen(function*() {
        const events = eventNamesOf(params)
        if (events.length === 0 && params.kind !== "cohort_size") return []
        const live = yield* Effect.option(resolver.live(workspaceId))
        if (Option.isNone(live)) return ["Amplitude not connected: the mapping could not be checked"]
        const lookups = yield* projectLookups(live.value.connection)
        const warnings: Array<string> = []
        if (events.length > 0) {
          const known = yield* lookups.eventNames
          for (const name of events) if (!known.has(name)) warnings.push(`event not recognized: ${name}`)
        }
        if (params.kind === "cohort_size" && Option.isNone(yield* lookups.cohortSize(params.cohortId))) {
          warnings.push(`cohort not found: ${params.cohortId}`)
        }
        return warnings
      }).pipe(
        Effect.catchAll((error) => Effect.succeed([`the mapping could not be checked: ${failureReason(error)}`]))
      )

    /** Creates or replaces (same id) the metric's Amplitude mapping; saving again clears `needsReview`. */
    const saveMapping = Effect.fn("Metrics.saveMapping")(
      function*(workspaceId: WorkspaceId, actorId: string, metricId: MetricId, params: MappingParams) {
        yield* requireMetric(workspaceId, metricId)
        const warnings = yield* check(workspaceId, params)
        const mapping = yield* repo.saveMapping(workspaceId, metricId, AMPLITUDE_PROVIDER, params)
        yield* audit.record({
          workspaceId,
          actorId,
          action: "metric.mapping_saved",
          details: { metricId, mappingId: mapping.id, kind: mapping.kind, warnings }
        })
        return { mapping, warnings }
      }
    )

    const getMapping = Effect.fn("Metrics.getMapping")(function*(workspaceId: WorkspaceId, metricId: MetricId) {
      const mapping = yield* repo.findMapping(workspaceId, metricId, AMPLITUDE_PROVIDER)
      if (Option.isNone(mapping)) return yield* new NotFound({ message: "This metric has no Amplitude mapping." })
      return mapping.value satisfies Mapping
    })

    const deleteMapping = Effect.fn("Metrics.deleteMapping")(
      function*(workspaceId: WorkspaceId, actorId: string, metricId: MetricId) {
        yield* requireMetric(workspaceId, metricId)
        if (yield* repo.deleteMapping(workspaceId, metricId, AMPLITUDE_PROVIDER)) {
          yield* audit.record({ workspaceId, actorId, action: "metric.mapping_deleted", details: { metricId } })
        }
      }
    )

    return { create, list, update, saveMapping, getMapping, deleteMapping } as const
  }),
  dependencies: [MetricsRepo.Default, AuditLog.Default, ConnectionResolver.Default]
}) {}

const emptyToNull = (text: string | null | undefined) =>
  text === undefined || text === null || text === "" ? null : text
