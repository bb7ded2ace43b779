import { ConnectionResolver } from "@findry/amplitude-access"
import type { ExperimentCallFailure } from "@findry/amplitude-adapter"
import {
  type CreateTest,
  ExperimentNotFound,
  ExperimentSyncRun,
  FieldProblem,
  InvalidCredentials,
  NotFound,
  type ProjectId,
  Test,
  TestId,
  ValidationError,
  type WorkspaceId
} from "@findry/domain"
import { experimentFields, linkedExperiment } from "@findry/experiment-sync"
import { type ExperimentFields, ExperimentSyncRepo, type TestRow, TestsRepo, WorkspacesRepo } from "@findry/persistence"
import { Effect, Option } from "effect"
import { UsageLimits } from "../limits/UsageLimits.js"

const toTest = (row: TestRow): Test =>
  new Test({
    id: TestId.make(row.id),
    projectId: row.projectId,
    name: row.name,
    type: row.type,
    amplitudeExperiment: row.snapshot === null ? null : linkedExperiment(row.snapshot)
  })

const onlyAbExperiments = (field: string) =>
  new ValidationError({
    fields: [new FieldProblem({ field, problem: "only tests of type ab_experiment can be linked to an experiment" })]
  })

/** Tests of a workspace's projects and their links to Amplitude experiments. */
export class Tests extends Effect.Service<Tests>()("@findry/api/Tests", {
  effect: Effect.gen(function*() {
    const tests = yield* TestsRepo
    const workspaces = yield* WorkspacesRepo
    const syncRuns = yield* ExperimentSyncRepo
    const resolver = yield* ConnectionResolver
    const limits = yield* UsageLimits

    /** The experiment as Amplitude has it now, checked through the workspace's management key. */
    const lookUp = Effect.fn("Tests.lookUpExperiment")(function*(workspaceId: WorkspaceId, experimentId: string) {
      const { experiments } = yield* resolver.withExperiments(workspaceId)
      yield* limits.amplitudeCall(workspaceId)
      const found = yield* experiments.get(experimentId).pipe(
        Effect.catchTag(
          "CredentialsUnreadable",
          (error): Effect.Effect<never, Exclude<ExperimentCallFailure, { _tag: "CredentialsUnreadable" }>> =>
            Effect.fail(new InvalidCredentials({ message: error.message }))
        )
      )
      if (Option.isNone(found) || found.value.deleted) return yield* ExperimentNotFound.of(experimentId)
      return experimentFields(found.value)
    })

    const projectOf = (workspaceId: WorkspaceId, projectId: ProjectId) =>
      Effect.flatMap(
        workspaces.listProjects(workspaceId),
        (projects) => projects.some((project) => project.id === projectId) ? Effect.void : Effect.fail(new NotFound())
      )

    const create = Effect.fn("Tests.create")(
      function*(workspaceId: WorkspaceId, projectId: ProjectId, actorId: string, input: CreateTest) {
        if (input.amplitudeExperimentId !== undefined && input.type !== "ab_experiment") {
          return yield* onlyAbExperiments("amplitudeExperimentId")
        }
        yield* projectOf(workspaceId, projectId)
        const experiment: ExperimentFields | null = input.amplitudeExperimentId === undefined
          ? null
          : yield* lookUp(workspaceId, input.amplitudeExperimentId)
        const created = yield* tests.create({
          workspaceId,
          projectId,
          name: input.name,
          type: input.type,
          createdBy: actorId,
          experiment
        })
        if (Option.isNone(created)) return yield* new NotFound()
        return toTest(created.value)
      }
    )

    const get = Effect.fn("Tests.get")(function*(workspaceId: WorkspaceId, testId: TestId) {
      const found = yield* tests.find(workspaceId, testId)
      if (Option.isNone(found)) return yield* new NotFound()
      return toTest(found.value)
    })

    const list = Effect.fn("Tests.list")(function*(workspaceId: WorkspaceId, projectId: ProjectId) {
      yield* projectOf(workspaceId, projectId)
      return (yield* tests.list(workspaceId, projectId)).map(toTest)
    })

    const linkExperiment = Effect.fn("Tests.linkExperiment")(
      function*(workspaceId: WorkspaceId, testId: TestId, experimentId: string) {
        const current = yield* tests.find(workspaceId, testId)
        if (Option.isNone(current)) return yield* new NotFound()
        if (current.value.type !== "ab_experiment") return yield* onlyAbExperiments("experimentId")
        const experiment = yield* lookUp(workspaceId, experimentId)
        const linked = yield* tests.link(workspaceId, testId, experiment)
        if (Option.isNone(linked)) return yield* new NotFound()
        return toTest(linked.value)
      }
    )

    const lastSync = Effect.fn("Tests.lastSync")(function*(workspaceId: WorkspaceId) {
      const latest = yield* syncRuns.latest(workspaceId)
      return Option.match(latest, {
        onNone: () => null,
        onSome: (run) =>
          new ExperimentSyncRun({
            date: run.syncDate,
            status: run.status,
            testsTotal: run.testsTotal,
            testsSynced: run.testsSynced,
            experimentsArchived: run.experimentsArchived,
            experimentsDeleted: run.experimentsDeleted,
            reason: run.reason,
            message: run.message,
            startedAt: run.startedAt,
            finishedAt: run.finishedAt
          })
      })
    })

    return { create, get, list, linkExperiment, lastSync } as const
  }),
  dependencies: [
    TestsRepo.Default,
    WorkspacesRepo.Default,
    ExperimentSyncRepo.Default,
    UsageLimits.Default,
    ConnectionResolver.Default
  ]
}) {}
