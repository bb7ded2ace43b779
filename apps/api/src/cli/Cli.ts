import { Args, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { AnnotationScheduler, AnnotationSchedulerLive, clusterSharding } from "@findry/annotations"
import { Keyring, rotateSecrets, SecretSealer } from "@findry/crypto"
import { AnnotationStatus, BetId, WorkspaceId } from "@findry/domain"
import { OperatorStatus } from "@findry/persistence"
import { SqlLive as RuntimeSqlLive } from "@findry/runtime"
import { Console, Duration, Effect, Layer, Logger, LogLevel, Option, Schema } from "effect"
import { SealedSecretStoreLive } from "../amplitude-connection/KeyRotation.js"
import { ApiConfig, ApiConfigLive } from "../ApiConfig.js"
import { issueToken } from "../auth/Jwt.js"
import { CommandFailed, ExitCode, reportFailure, UsageError } from "./Errors.js"
import { formatSeconds, plainWhenPiped, printJson, stderrSink, table } from "./Output.js"
import {
  ClusterClientOnDatabaseLive,
  DatabaseUrlCheck,
  runnerCount,
  syncAll,
  syncWorkspace,
  SyncWorkspaceLive
} from "./SyncRun.js"

/** The service's database (`DATABASE_URL`, else the embedded one under `FINDRY_DATA_DIR`), migrated. */
const SqlLive = RuntimeSqlLive.pipe(Layer.provide(DatabaseUrlCheck))

const json = Options.boolean("json").pipe(Options.withDescription("Print the result as JSON on stdout."))

const workspaceOption = Options.text("workspace").pipe(
  Options.withDescription("The workspace's id (a UUID)."),
  Options.mapEffect((value) =>
    Schema.decodeUnknown(WorkspaceId)(value).pipe(
      Effect.mapError(() => ValidationError.invalidValue(HelpDoc.p("--workspace must be a workspace id (a UUID)")))
    )
  )
)

// ---------------------------------------------------------------------------------------------------------------
// token

const USER_ID = /^[\w.@:-]{1,128}$/

const token = Command.make(
  "token",
  {
    userId: Args.text({ name: "userId" }).pipe(Args.withDescription("The user the token is for (its `sub`).")),
    hours: Args.float({ name: "hours" }).pipe(
      Args.withDescription("How long the token is valid, in hours (default 12)."),
      Args.withDefault(12)
    ),
    json
  },
  ({ hours, json, userId }) =>
    Effect.gen(function*() {
      if (!USER_ID.test(userId)) {
        return yield* new UsageError({ message: "userId must be 1 to 128 letters, digits or . @ : - _" })
      }
      if (!Number.isFinite(hours) || hours <= 0) {
        return yield* new UsageError({ message: "hours must be a number greater than 0" })
      }
      const { authSecret } = yield* ApiConfig
      const issued = issueToken(authSecret, { sub: userId, ttlSeconds: Math.round(hours * 3600) })
      yield* json
        ? printJson({ token: issued, userId, expiresInSeconds: Math.round(hours * 3600) })
        : Console.log(issued)
    }).pipe(Effect.provide(ApiConfigLive))
).pipe(Command.withDescription("Print a bearer token for a user, signed with FINDRY_AUTH_SECRET."))

// ---------------------------------------------------------------------------------------------------------------
// rotate-keys

const rotateKeys = Command.make(
  "rotate-keys",
  {
    batchSize: Args.integer({ name: "batchSize" }).pipe(
      Args.withDescription("Secrets re-sealed per batch (default 100)."),
      Args.withDefault(100)
    ),
    json
  },
  ({ batchSize, json }) =>
    Effect.gen(function*() {
      if (batchSize <= 0) return yield* new UsageError({ message: "batchSize must be a whole number greater than 0" })
      return yield* rotate(batchSize, json)
    })
).pipe(
  Command.withDescription(
    "Re-seal every stored secret under the first key of FINDRY_ENCRYPTION_KEYS; safe to interrupt and rerun."
  )
)

const rotate = (batchSize: number, json: boolean) =>
  Effect.gen(function*() {
    const report = yield* rotateSecrets({
      batchSize,
      onProgress: (progress) =>
        json ? Effect.void : Console.log(
          `scanned ${progress.scanned}, re-sealed ${progress.rewrapped}, already current ${progress.skipped}, ` +
            `changed meanwhile ${progress.conflicts}, failed ${progress.failed}`
        )
    })
    if (json) {
      yield* printJson({
        currentKeyId: report.currentKeyId,
        scanned: report.scanned,
        rewrapped: report.rewrapped,
        skipped: report.skipped,
        conflicts: report.conflicts,
        failed: report.failed,
        failures: report.failures,
        remainingOnOldKeys: report.remainingOnOldKeys
      })
    } else {
      yield* Console.log(
        `Done. Current key: ${report.currentKeyId}. Values still on older keys: ${report.remainingOnOldKeys}` +
          (report.failures.length > 0
            ? `; failures: ${report.failures.map((f) => `${f.id} (${f.reason})`).join(", ")}`
            : "")
      )
      if (report.remainingOnOldKeys === 0) {
        yield* Console.log("No value uses an older key: older keys can now be removed from FINDRY_ENCRYPTION_KEYS.")
      }
    }
    if (report.failures.length > 0) {
      return yield* new CommandFailed({
        message: `${report.failures.length} value(s) could not be re-sealed: keep the older keys in ` +
          "FINDRY_ENCRYPTION_KEYS and check those values."
      })
    }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(SealedSecretStoreLive, SecretSealer.Default).pipe(
        Layer.provide(SqlLive),
        Layer.provide(Keyring.Default)
      )
    )
  )

// ---------------------------------------------------------------------------------------------------------------
// jobs status

const aliveWithinSeconds = Math.ceil(Duration.toSeconds(clusterSharding.shardLockExpiration ?? Duration.seconds(6)))

const jobsStatus = Command.make("status", { json }, ({ json }) =>
  Effect.gen(function*() {
    const status = yield* OperatorStatus
    const [backlog, runners, sweep, sync] = yield* Effect.all([
      status.annotationBacklog,
      status.runners(aliveWithinSeconds),
      status.lastSweep,
      status.lastSync
    ])
    const alive = runners.filter((runner) => runner.alive).length
    if (json) {
      return yield* printJson({
        annotationPush: backlog,
        runners: { alive, all: runners },
        outcomeSweep: sweep,
        experimentSync: sync
      })
    }
    const lines = [
      "Annotation push",
      `  pending ${backlog.pending}, failed ${backlog.failed}, due messages ${backlog.due}` +
      `, oldest due ${formatSeconds(backlog.oldestDueSeconds)}`,
      `Runners: ${alive} alive of ${runners.length}`,
      ...runners.map((runner) =>
        `  ${runner.address}  ${runner.alive ? "alive" : runner.healthy ? "silent" : "unhealthy"}  ` +
        `heartbeat ${formatSeconds(runner.heartbeatAgeSeconds)} ago`
      ),
      sweep === null
        ? "Outcome sweep: never ran"
        : `Outcome sweep: last at ${sweep.at.toISOString()}, ${sweep.measured} runs, ${sweep.verdicts} verdicts, ` +
          `${sweep.notMeasured} not measured`,
      ...(sweep?.failures ?? []).map((failure) =>
        `  not measured: bet ${failure.betId} (workspace ${failure.workspaceId}): ${failure.warning ?? "-"}`
      ),
      sync === null
        ? "Experiment sync: never ran"
        : `Experiment sync: night ${sync.date}, ${sync.workspaces} workspaces, ${sync.succeeded} succeeded, ` +
          `${sync.failed} failed, ${sync.skipped} skipped, ${sync.running} running`,
      ...(sync?.failures ?? []).map((failure) =>
        `  failed: workspace ${failure.workspaceId}: ${failure.reason ?? "-"}` +
        (failure.message === null ? "" : ` (${failure.message})`)
      )
    ]
    yield* Console.log(lines.join("\n"))
  }).pipe(Effect.provide(OperatorStatus.Default.pipe(Layer.provide(SqlLive))))).pipe(
    Command.withDescription(
      "The annotation push backlog, the scheduler runners alive, the last outcome sweep and the last night of " +
        "the experiment sync, with their failures."
    )
  )

const jobs = Command.make("jobs", {}, () => new UsageError({ message: "name a subcommand: jobs status" })).pipe(
  Command.withDescription("The scheduler's jobs."),
  Command.withSubcommands([jobsStatus])
)

// ---------------------------------------------------------------------------------------------------------------
// annotations

const annotationsList = Command.make(
  "list",
  {
    workspace: workspaceOption,
    status: Options.choice("status", AnnotationStatus.literals).pipe(
      Options.withDescription("Only records with this status."),
      Options.optional
    ),
    limit: Options.integer("limit").pipe(
      Options.withDescription("Most records shown, newest change first (default 100)."),
      Options.withDefault(100)
    ),
    json
  },
  ({ json, limit, status, workspace }) =>
    Effect.gen(function*() {
      if (limit <= 0) return yield* new UsageError({ message: "--limit must be a whole number greater than 0" })
      return yield* listAnnotations(workspace, { json, limit, status: Option.getOrUndefined(status) })
    })
).pipe(Command.withDescription("A workspace's annotation records (what Findry pushes to Amplitude) and their status."))

const listAnnotations = (
  workspace: WorkspaceId,
  options: { readonly json: boolean; readonly limit: number; readonly status: AnnotationStatus | undefined }
) =>
  Effect.gen(function*() {
    const { json, limit, status } = options
    const operator = yield* OperatorStatus
    if (!(yield* operator.workspaceExists(workspace))) {
      return yield* new CommandFailed({ message: `No workspace ${workspace}: check the id.` })
    }
    const records = yield* operator.annotations(workspace, { status, limit })
    if (json) return yield* printJson(records)
    if (records.length === 0) return yield* Console.log("No annotation records.")
    yield* Console.log(table([
      ["BET", "KIND", "STATUS", "ATTEMPTS", "UPDATED", "LABEL", "REASON"],
      ...records.map((record) => [
        record.betId,
        record.kind,
        record.status,
        String(record.attempts),
        record.updatedAt.toISOString(),
        record.label,
        record.reason ?? ""
      ])
    ]))
  }).pipe(Effect.provide(OperatorStatus.Default.pipe(Layer.provide(SqlLive))))

const annotationsRetry = Command.make(
  "retry",
  {
    workspace: workspaceOption,
    bet: Options.text("bet").pipe(
      Options.withDescription("Only this bet's annotations (its id, a UUID)."),
      Options.mapEffect((value) =>
        Schema.decodeUnknown(BetId)(value).pipe(
          Effect.mapError(() => ValidationError.invalidValue(HelpDoc.p("--bet must be a bet id (a UUID)")))
        )
      ),
      Options.optional
    ),
    json
  },
  ({ bet, json, workspace }) =>
    Effect.gen(function*() {
      const operator = yield* OperatorStatus
      if (!(yield* operator.workspaceExists(workspace))) {
        return yield* new CommandFailed({ message: `No workspace ${workspace}: check the id.` })
      }
      const scheduler = yield* AnnotationScheduler
      const { requeued } = yield* scheduler.retryFailed({ workspaceId: workspace, betId: Option.getOrUndefined(bet) })
      const runners = yield* runnerCount
      if (json) return yield* printJson({ workspaceId: workspace, requeued, runnersAlive: runners })
      yield* Console.log(
        requeued === 0
          ? "Nothing to push again: no failed push of this workspace can be retried (see `annotations list`)."
          : `Queued ${requeued} annotation push(es) again.`
      )
      if (requeued > 0 && runners === 0) {
        yield* Console.log("No scheduler runner is alive: they are pushed when one starts.")
      }
    }).pipe(Effect.provide(AnnotationSchedulerLive.pipe(Layer.provideMerge(ClusterClientOnDatabaseLive))))
).pipe(
  Command.withDescription(
    "Push again the workspace's annotations that failed on rejected keys or used-up attempts (or were skipped " +
      "while it was disconnected), as the admin's retry endpoint does; needs DATABASE_URL and a scheduler runner."
  )
)

const annotations = Command.make(
  "annotations",
  {},
  () => new UsageError({ message: "name a subcommand: annotations list, annotations retry" })
).pipe(
  Command.withDescription("Annotation records of the Amplitude push."),
  Command.withSubcommands([annotationsList, annotationsRetry])
)

// ---------------------------------------------------------------------------------------------------------------
// sync

const syncRun = Command.make(
  "run",
  {
    workspace: workspaceOption.pipe(Options.optional),
    all: Options.boolean("all").pipe(
      Options.withDescription("Start tonight's nightly sync of every workspace on the scheduler runners and follow it.")
    ),
    timeout: Options.integer("timeout").pipe(
      Options.withDescription("With --all: seconds to follow the sync before giving up (exit 1; it goes on)."),
      Options.withDefault(3600)
    ),
    json
  },
  ({ all, json, timeout, workspace }) =>
    Effect.gen(function*() {
      if (Option.isSome(workspace) === all) {
        return yield* new UsageError({ message: "give exactly one of --workspace <id> and --all" })
      }
      if (timeout <= 0) return yield* new UsageError({ message: "--timeout must be a whole number greater than 0" })
      if (Option.isSome(workspace)) {
        return yield* syncWorkspace(workspace.value, { json }).pipe(
          Effect.provide(SyncWorkspaceLive.pipe(Layer.provide(SqlLive)))
        )
      }
      return yield* syncAll({ json, timeout: Duration.seconds(timeout), sink: stderrSink }).pipe(
        Effect.provide(ClusterClientOnDatabaseLive)
      )
    })
).pipe(
  Command.withDescription(
    "Run the nightly experiment sync now: --workspace runs that workspace's sync in this process (again if it " +
      "failed or was skipped today); --all starts the same NightlySync workflow the scheduler's cron starts and " +
      "shows its progress."
  )
)

const sync = Command.make("sync", {}, () => new UsageError({ message: "name a subcommand: sync run" })).pipe(
  Command.withDescription("The nightly Amplitude experiment sync."),
  Command.withSubcommands([syncRun])
)

// ---------------------------------------------------------------------------------------------------------------

const findry = Command.make(
  "findry",
  {},
  () =>
    new UsageError({
      message: "name a command: token, rotate-keys, jobs status, annotations list, annotations retry, sync run"
    })
).pipe(
  Command.withDescription("Findry operator commands. Configuration is read from the service's environment."),
  Command.withSubcommands([token, rotateKeys, jobs, annotations, sync])
)

const cli = Command.run(findry, { name: "findry", version: "0.0.0" })

/**
 * Runs the command line (`argv` as `process.argv`) and gives the exit code (see `ExitCode`); never fails.
 * Logs go to stderr, and only errors.
 */
export const runCli = (argv: ReadonlyArray<string>) =>
  Console.consoleWith((console) =>
    cli(argv).pipe(
      Effect.as(ExitCode.ok as number),
      Effect.catchAllCause(reportFailure),
      Effect.withConsole(plainWhenPiped(console)),
      Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withLeveledConsole(Logger.logfmtLogger))),
      Logger.withMinimumLogLevel(LogLevel.Error)
    )
  )
