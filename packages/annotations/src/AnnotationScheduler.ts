import { SqlClient } from "@effect/sql"
import type { WorkflowEngine } from "@effect/workflow"
import { type AnnotationKind, annotationLabel, type BetId, type WorkspaceId } from "@findry/domain"
import {
  AnnotationRecordsRepo,
  type BetRow,
  BetsRepo,
  type DesiredAnnotation,
  type IntegrationRecord,
  IntegrationsRepo,
  type OutcomeRow,
  type RevisionOutcome
} from "@findry/persistence"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { PushAnnotation } from "./PushAnnotation.js"

export interface BetEvent {
  readonly workspaceId: WorkspaceId
  readonly betId: BetId
  readonly kind: AnnotationKind
}

export interface RetryFailed {
  readonly workspaceId: WorkspaceId
  /** Only this bet's annotations. */
  readonly betId?: BetId | undefined
}

/** Reasons a push is skipped, shown on the bet and in the activity list. */
export const SKIP_REASONS = {
  notConnected: "Amplitude is not connected",
  disabled: "Annotation push is turned off for this workspace",
  betGone: "The bet no longer exists",
  projectChanged: "The workspace was connected to another Amplitude project during the push"
} as const

/**
 * The only scheduler surface domain code sees (docs/scheduler.md#the-boundary-annotationscheduler).
 *
 * Call it INSIDE the `sql.withTransaction` that records the decision: the annotation record and the
 * workflow message commit or roll back with it. It never fails the caller; a push that cannot happen
 * (not connected, push turned off) is recorded as `skipped` with the reason.
 */
export class AnnotationScheduler extends Context.Tag("@findry/annotations/AnnotationScheduler")<
  AnnotationScheduler,
  {
    /** Records the annotation of `kind` as it should look now and schedules its push. */
    readonly betEvent: (event: BetEvent) => Effect.Effect<void>
    /** `betEvent` for many events at once: the reads and writes of all of them in one statement each. */
    readonly betEvents: (events: ReadonlyArray<BetEvent>) => Effect.Effect<void>
    /**
     * Re-fires every kind of the bet that is pending, pushed or failed (e.g. after a rename), so each
     * existing annotation gets the new label.
     */
    readonly betRenamed: (event: Omit<BetEvent, "kind">) => Effect.Effect<void>
    /**
     * Pushes again, once each, the workspace's annotations (or one bet's) whose push ended in a state that new
     * keys or a reconnect may fix (keys rejected or unreadable, attempts used up, skipped while disconnected),
     * provided they were aimed at the project the workspace is connected to now and the push is on. Each gets a
     * new revision and execution, as any re-fire. Records already pending again are not counted twice: a second
     * call while the first re-drive is under way finds nothing. Runs in its own transaction, or in the caller's.
     */
    readonly retryFailed: (options: RetryFailed) => Effect.Effect<{ readonly requeued: number }>
  }
>() {}

const midnightUtc = (day: string) => new Date(`${day}T00:00:00Z`)

/** Label and time of the annotation of `kind`, or `None` when the bet has no such decision (yet). */
export const desiredAnnotation = (
  kind: AnnotationKind,
  bet: BetRow,
  outcome: Option.Option<OutcomeRow>
): Option.Option<{ readonly label: string; readonly at: Date }> => {
  switch (kind) {
    case "promoted":
      return Option.some({ label: annotationLabel("promoted", bet.title), at: bet.promotedAt })
    case "shipped": {
      if (Option.isSome(outcome)) {
        return Option.some({ label: annotationLabel("shipped", bet.title), at: midnightUtc(outcome.value.shipDate) })
      }
      return bet.shippedAt === null
        ? Option.none()
        : Option.some({ label: annotationLabel("shipped", bet.title), at: bet.shippedAt })
    }
    case "verdict": {
      if (Option.isNone(outcome) || outcome.value.verdict === null) return Option.none()
      return Option.some({
        label: annotationLabel("verdict", bet.title, outcome.value.verdict),
        at: outcome.value.verdictAt ?? midnightUtc(outcome.value.shipDate)
      })
    }
  }
}

const AMPLITUDE = "amplitude"

/** A revision is pushed when the workspace is connected with the push on; else it is skipped, with the reason. */
const revisionOutcome = (
  target: DesiredAnnotation,
  integration: IntegrationRecord | undefined
): RevisionOutcome => {
  if (integration === undefined || integration.status !== "connected") {
    // A workspace that was connected before gets it on a reconnect to that project.
    return { status: "skipped", reason: SKIP_REASONS.notConnected, retryable: target.projectFingerprint !== null }
  }
  if (!integration.settings.annotationsEnabled) return { status: "skipped", reason: SKIP_REASONS.disabled }
  return { status: "pending" }
}

/**
 * The boundary on @effect/workflow: needs a `WorkflowEngine` (a runner, a client-only cluster node or the
 * in-memory engine) and the `SqlClient` the domain code uses (the same one, so that it joins its transaction).
 */
export const AnnotationSchedulerLive: Layer.Layer<
  AnnotationScheduler,
  never,
  WorkflowEngine.WorkflowEngine | SqlClient.SqlClient
> = Layer.effect(
  AnnotationScheduler,
  Effect.gen(function*() {
    const bets = yield* BetsRepo
    const records = yield* AnnotationRecordsRepo
    const integrations = yield* IntegrationsRepo
    const sql = yield* SqlClient.SqlClient
    const engine = yield* Effect.context<WorkflowEngine.WorkflowEngine>()

    /**
     * Records each annotation as it should look now and enqueues the pushes: the bets, their outcomes and the
     * workspaces' connections are read, the revisions written and the executions stored in one statement each,
     * whatever the number of events. Answers how many pushes were enqueued.
     */
    const recordAll = Effect.fnUntraced(function*(events: ReadonlyArray<BetEvent>) {
      if (events.length === 0) return 0
      const found = yield* bets.findAllWithOutcome(events)
      if (found.size === 0) return 0
      const connections = yield* integrations.findAll([...new Set(events.map((event) => event.workspaceId))], AMPLITUDE)
      const revisions: Array<{ desired: DesiredAnnotation; outcome: RevisionOutcome }> = []
      for (const event of events) {
        const bet = found.get(event.betId)
        // The same bet may be named with two workspaces in one batch: only the one it belongs to counts.
        if (bet === undefined || bet.bet.workspaceId !== event.workspaceId) continue
        const desired = desiredAnnotation(event.kind, bet.bet, bet.outcome)
        if (Option.isNone(desired)) continue
        const integration = connections.get(event.workspaceId)
        const target = { ...event, ...desired.value, projectFingerprint: integration?.projectFingerprint ?? null }
        revisions.push({ desired: target, outcome: revisionOutcome(target, integration) })
      }
      const pending = (yield* records.upsertAll(revisions)).filter((record) => record.status === "pending")
      const decidedAt = yield* Clock.currentTimeMillis
      const executions = yield* Effect.forEach(pending, (record) =>
        Effect.map(
          PushAnnotation.execute(
            {
              workspaceId: record.workspaceId,
              betId: record.betId,
              kind: record.kind,
              revision: record.revision,
              decidedAt
            },
            { discard: true }
          ),
          (executionId) => ({ betId: record.betId, kind: record.kind, revision: record.revision, executionId })
        )).pipe(Effect.provide(engine))
      yield* records.setExecutions(executions)
      return executions.length
    })

    const betEvent = Effect.fn("AnnotationScheduler.betEvent")(function*(event: BetEvent) {
      yield* Effect.annotateCurrentSpan({ betId: event.betId, kind: event.kind })
      yield* recordAll([event])
    })

    const betEvents = Effect.fn("AnnotationScheduler.betEvents")(function*(events: ReadonlyArray<BetEvent>) {
      yield* Effect.annotateCurrentSpan({ events: events.length })
      yield* recordAll(events)
    })

    const betRenamed = Effect.fn("AnnotationScheduler.betRenamed")(function*(event: Omit<BetEvent, "kind">) {
      const existing = yield* records.forBet(event.betId)
      yield* recordAll(
        existing.flatMap((record) => record.status === "skipped" ? [] : [{ ...event, kind: record.kind }])
      )
    })

    const retryFailed = Effect.fn("AnnotationScheduler.retryFailed")(function*(options: RetryFailed) {
      const { betId, workspaceId } = options
      yield* Effect.annotateCurrentSpan({ workspaceId, betId: betId ?? "" })
      const requeued = yield* sql.withTransaction(Effect.gen(function*() {
        const integration = Option.getOrUndefined(yield* integrations.find(workspaceId, AMPLITUDE))
        if (
          integration?.status !== "connected" || integration.projectFingerprint === null ||
          !integration.settings.annotationsEnabled
        ) return 0
        const retryable = yield* records.lockRetryable(workspaceId, integration.projectFingerprint, betId)
        return yield* recordAll(retryable.map((found) => ({ workspaceId, betId: found.betId, kind: found.kind })))
      })).pipe(Effect.orDie)
      if (requeued > 0) {
        yield* Effect.logInfo("Failed annotation pushes re-queued").pipe(Effect.annotateLogs({ workspaceId, requeued }))
      }
      return { requeued }
    })

    return { betEvent, betEvents, betRenamed, retryFailed }
  })
).pipe(Layer.provide([BetsRepo.Default, AnnotationRecordsRepo.Default, IntegrationsRepo.Default]))
