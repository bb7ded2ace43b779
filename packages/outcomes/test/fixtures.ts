import { WorkflowEngine } from "@effect/workflow"
import { ConnectionResolver } from "@findry/amplitude-access"
import type { Project } from "@findry/amplitude-emulator"
import { AnnotationSchedulerLive, PushAnnotation, PushResult } from "@findry/annotations"
import { SecretSealer } from "@findry/crypto"
import {
  type BetId,
  type Direction,
  type MagnitudeUnit,
  type MappingParams,
  type MetricId,
  ProjectId,
  UserId,
  type WorkspaceId
} from "@findry/domain"
import {
  AnnotationRecordsRepo,
  BetsRepo,
  IntegrationSettings,
  IntegrationsRepo,
  MetricsRepo,
  OutcomeRunsRepo,
  WorkspacesRepo
} from "@findry/persistence"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { OutcomeMeasurement } from "../src/OutcomeMeasurement.js"

/** The annotation boundary on the in-memory workflow engine; pushes are no-ops (the records keep their labels). */
const AnnotationsTest = AnnotationSchedulerLive.pipe(
  Layer.provide(
    PushAnnotation.toLayer(() =>
      Effect.succeed(new PushResult({ status: "skipped", amplitudeAnnotationId: null, reason: "test" }))
    ).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))
  )
)

/** `OutcomeMeasurement` and the repositories tests use; needs `SqlClient`, `AmplitudeClient` and `SecretSealer`. */
export const MeasurementTestLive = OutcomeMeasurement.DefaultWithoutDependencies.pipe(
  Layer.provideMerge(AnnotationsTest),
  Layer.provideMerge(Layer.mergeAll(
    ConnectionResolver.Default,
    MetricsRepo.Default,
    BetsRepo.Default,
    AnnotationRecordsRepo.Default,
    IntegrationsRepo.Default,
    WorkspacesRepo.Default,
    OutcomeRunsRepo.Default
  ))
)

let counter = 0

/** A workspace with a project; connected to the emulator `project` unless it is null. */
export const workspaceOn = (project: Project | null) =>
  Effect.gen(function*() {
    const workspaces = yield* WorkspacesRepo
    const workspace = yield* workspaces.create(`Workspace ${++counter}`, UserId.make(`admin-${counter}`))
    const findryProject = yield* workspaces.createProject(workspace.id, "Product")
    if (project !== null) yield* connect(workspace.id, project)
    return { workspaceId: workspace.id, projectId: ProjectId.make(findryProject.id) }
  })

/** Stores the emulator project's keys for the workspace, as the connect flow does. */
export const connect = (workspaceId: WorkspaceId, project: Project) =>
  Effect.gen(function*() {
    const sealer = yield* SecretSealer
    const seal = (value: string, slot: number) =>
      sealer.seal(Redacted.make(value), { workspaceId, provider: "amplitude", slot })
    yield* (yield* IntegrationsRepo).saveConnected({
      workspaceId,
      provider: "amplitude",
      region: project.region,
      credential1: yield* seal(project.apiKey, 1),
      credential2: yield* seal(project.secretKey, 2),
      projectFingerprint: `fingerprint-${project.id}`,
      displayName: project.name,
      settings: yield* Effect.orDie(Schema.decodeUnknown(IntegrationSettings)({})),
      keepCredential3: false
    })
  })

export interface BetSpec {
  readonly title?: string
  readonly mapping: MappingParams | null
  readonly direction: Direction
  readonly magnitude: number
  readonly magnitudeUnit: MagnitudeUnit
  readonly timeframeDays: number
  readonly cohortId?: string | null
  readonly shipDate: string | null
}

/** A metric (with `mapping`), a bet predicting a change of it and, with a ship date, its outcome. */
export const betIn = (where: { readonly workspaceId: WorkspaceId; readonly projectId: ProjectId }, spec: BetSpec) =>
  Effect.gen(function*() {
    const metrics = yield* MetricsRepo
    const bets = yield* BetsRepo
    const n = ++counter
    const metric = Option.getOrThrow(
      yield* metrics.create(where.workspaceId, { name: `Metric ${n}`, unit: "decimal", description: null })
    )
    if (spec.mapping !== null) yield* metrics.saveMapping(where.workspaceId, metric.id, "amplitude", spec.mapping)
    const title = spec.title ?? `Bet ${n}`
    const bet = yield* bets.insert({
      workspaceId: where.workspaceId,
      projectId: where.projectId,
      title,
      metricId: metric.id as MetricId,
      direction: spec.direction,
      magnitude: spec.magnitude,
      magnitudeUnit: spec.magnitudeUnit,
      timeframeDays: spec.timeframeDays,
      cohortId: spec.cohortId ?? null,
      createdBy: "pm"
    })
    if (spec.shipDate !== null) {
      yield* bets.saveOutcome(where.workspaceId, bet.id, { shipDate: spec.shipDate, whatShipped: "It" })
    }
    return {
      betId: bet.id as BetId,
      metricId: metric.id,
      metricName: metric.name,
      title,
      workspaceId: where.workspaceId
    }
  })
