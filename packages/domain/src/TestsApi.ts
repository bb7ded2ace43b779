import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { ExperimentSummary } from "./AmplitudeApi.js"
import { ExperimentCallError, NotConnected } from "./Errors.js"
import { ProjectId } from "./Ids.js"
import { ProjectPath, withWorkspaceAccess, WorkspacePath } from "./WorkspaceEndpoint.js"
import { DisplayText } from "./WorkspacesApi.js"

export const TestId = Schema.UUID.pipe(Schema.brand("TestId"))
export type TestId = typeof TestId.Type

/** `ab_experiment` tests may be linked to an Amplitude Experiment; `other` tests never are. */
export const TestType = Schema.Literal("ab_experiment", "other")
export type TestType = typeof TestType.Type

/** An Amplitude experiment id as typed: trimmed, 1–64 letters, digits, `_` or `-`. */
export const ExperimentIdInput = Schema.Trim.pipe(
  Schema.filter((id) =>
    id.length === 0
      ? "must not be empty"
      : id.length > 64
      ? "must be at most 64 characters"
      : /^[\w-]+$/.test(id) || "must contain only letters, digits, '_' and '-'"
  )
).annotations({ identifier: "ExperimentId" })

export class ManagementKeyRequired extends Schema.TaggedError<ManagementKeyRequired>()(
  "ManagementKeyRequired",
  {
    message: Schema.optionalWith(Schema.String, {
      default: () =>
        "Add an Amplitude Management API key first (Integrations → Amplitude): linking a test to an experiment " +
        "needs it."
    })
  },
  HttpApiSchema.annotations({ status: 409 })
) {}

export class ExperimentNotFound extends Schema.TaggedError<ExperimentNotFound>()(
  "ExperimentNotFound",
  { message: Schema.String, experimentId: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {
  static of(experimentId: string): ExperimentNotFound {
    return new ExperimentNotFound({
      experimentId,
      message: `Amplitude has no experiment ${experimentId} in the connected project. Pick one from the list.`
    })
  }
}

/**
 * The linked Amplitude experiment as last synced. `state` is `"archived"` or `"deleted"` when the experiment was
 * archived or deleted in Amplitude (the other fields then keep their last known values); `syncStatus: "failed"`
 * means the last refresh did not get through (`syncError` says why) and the values are those of `syncedAt`.
 */
export class LinkedExperiment extends Schema.Class<LinkedExperiment>("LinkedExperiment")({
  ...ExperimentSummary.fields,
  syncedAt: Schema.Date,
  archived: Schema.Boolean,
  deleted: Schema.Boolean,
  syncStatus: Schema.Literal("synced", "failed"),
  syncError: Schema.NullOr(Schema.String),
  lastSyncAttemptAt: Schema.Date
}) {}

export class Test extends Schema.Class<Test>("Test")({
  id: TestId,
  projectId: ProjectId,
  name: Schema.String,
  type: TestType,
  amplitudeExperiment: Schema.NullOr(LinkedExperiment)
}) {}

export class CreateTest extends Schema.Class<CreateTest>("CreateTest")({
  name: DisplayText(200),
  type: TestType,
  amplitudeExperimentId: Schema.optional(ExperimentIdInput)
}) {}

/** One night of the experiment sync for a workspace. */
export class ExperimentSyncRun extends Schema.Class<ExperimentSyncRun>("ExperimentSyncRun")({
  date: Schema.String,
  status: Schema.Literal("running", "succeeded", "failed", "skipped"),
  testsTotal: Schema.Number,
  testsSynced: Schema.Number,
  experimentsArchived: Schema.Number,
  experimentsDeleted: Schema.Number,
  reason: Schema.NullOr(Schema.String),
  message: Schema.NullOr(Schema.String),
  startedAt: Schema.Date,
  finishedAt: Schema.NullOr(Schema.Date)
}) {}

export const TestPath = Schema.Struct({ ...WorkspacePath.fields, testId: TestId })

/**
 * Creating a test linked to an experiment, or linking one, failed: no live connection, no Management API key,
 * an unknown experiment, or Amplitude's answer to the look-up.
 */
export const ExperimentLinkError = Schema.Union(
  NotConnected,
  ManagementKeyRequired,
  ExperimentNotFound,
  ...ExperimentCallError.members
)
export type ExperimentLinkError = typeof ExperimentLinkError.Type

export class TestsApi extends HttpApiGroup.make("tests")
  .add(
    HttpApiEndpoint.post("create", "/v1/workspaces/:workspaceId/projects/:projectId/tests")
      .setPath(ProjectPath)
      .setPayload(CreateTest)
      .addSuccess(Test, { status: 201 })
      .addError(ExperimentLinkError)
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/workspaces/:workspaceId/projects/:projectId/tests")
      .setPath(ProjectPath)
      .addSuccess(Schema.Struct({ tests: Schema.Array(Test) }))
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/workspaces/:workspaceId/tests/:testId")
      .setPath(TestPath)
      .addSuccess(Test)
  )
  .add(
    HttpApiEndpoint.put("linkExperiment", "/v1/workspaces/:workspaceId/tests/:testId/amplitude-experiment")
      .setPath(TestPath)
      .setPayload(Schema.Struct({ experimentId: ExperimentIdInput }))
      .addSuccess(Test)
      .addError(ExperimentLinkError)
  )
  .add(
    HttpApiEndpoint.get("experimentSync", "/v1/workspaces/:workspaceId/amplitude/experiment-sync")
      .setPath(WorkspacePath)
      .addSuccess(Schema.Struct({ lastRun: Schema.NullOr(ExperimentSyncRun) }))
  )
  .pipe(withWorkspaceAccess)
{}
