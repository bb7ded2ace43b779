import { SqlClient } from "@effect/sql"
import { AnnotationScheduler } from "@findry/annotations"
import {
  AnnotationActivity,
  Bet,
  BetAnnotation,
  type BetId,
  NotFound,
  Outcome,
  OutcomeNotSet,
  type OutcomeRun,
  PredictedImpact,
  type ProjectId,
  type Verdict,
  type WorkspaceId
} from "@findry/domain"
import { outcomeRunView } from "@findry/outcomes"
import {
  type AnnotationRecord,
  AnnotationRecordsRepo,
  AuditLog,
  type BetRow,
  BetsRepo,
  type OutcomeRow,
  OutcomeRunsRepo
} from "@findry/persistence"
import { SchedulerPresence, WAITING_FOR_A_SCHEDULER } from "@findry/runtime"
import { Clock, Effect, Option } from "effect"

const DAY_MS = 24 * 60 * 60 * 1000

const impactOf = (bet: BetRow) =>
  new PredictedImpact({
    metricId: bet.metricId,
    direction: bet.direction,
    magnitude: bet.magnitude,
    magnitudeUnit: bet.magnitudeUnit,
    timeframeDays: bet.timeframeDays,
    ...(bet.cohortId === null ? {} : { cohortId: bet.cohortId })
  })

const outcomeOf = (outcome: OutcomeRow, timeframeDays: number, now: number, lastRun: OutcomeRun | null) =>
  new Outcome({
    shipDate: outcome.shipDate,
    whatShipped: outcome.whatShipped,
    state: Date.parse(`${outcome.shipDate}T00:00:00Z`) + timeframeDays * DAY_MS <= now ? "closed" : "measuring",
    verdict: outcome.verdict,
    verdictSource: outcome.verdictSource,
    verdictAt: outcome.verdictAt,
    lastRun
  })

/** `waiting`: no scheduler runner is alive, so a pending annotation says why it has not moved. */
const annotationFields = (record: AnnotationRecord, waiting: boolean) => {
  const reason = record.status === "pending" && waiting ? WAITING_FOR_A_SCHEDULER : record.reason
  return {
    kind: record.kind,
    status: record.status,
    amplitudeAnnotationId: record.amplitudeAnnotationId,
    label: record.label,
    lastPushedAt: record.lastPushedAt,
    ...(reason === null ? {} : { reason })
  }
}

export interface NewBetInput {
  readonly title: string
  readonly predictedImpact: PredictedImpact
}

/**
 * Bets, outcomes and verdict overrides. Every decision is recorded and its annotation scheduled in one
 * transaction; the push itself runs later in the scheduler and never blocks or fails the request.
 */
export class Bets extends Effect.Service<Bets>()("@findry/api/Bets", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const bets = yield* BetsRepo
    const records = yield* AnnotationRecordsRepo
    const audit = yield* AuditLog
    const scheduler = yield* AnnotationScheduler
    const runs = yield* OutcomeRunsRepo
    const presence = yield* SchedulerPresence

    /** Whether pending annotations among `found` wait for a runner that is not there. */
    const waitingForRunner = (found: ReadonlyArray<AnnotationRecord>) =>
      found.some((record) => record.status === "pending") ? presence.noRunner : Effect.succeed(false)

    /** The latest outcome measurement ("Pull metrics" or the sweep), as `Outcome.lastRun`. */
    const lastRun = (betId: BetId) =>
      Effect.map(runs.latest(betId), (run) => Option.getOrNull(Option.map(run, outcomeRunView)))

    const transaction = <A, E>(effect: Effect.Effect<A, E>) =>
      sql.withTransaction(effect).pipe(Effect.catchTag("SqlError", Effect.die))

    const view = Effect.fn("Bets.view")(function*(bet: BetRow) {
      const now = yield* Clock.currentTimeMillis
      const outcome = yield* bets.findOutcome(bet.id)
      const run = yield* lastRun(bet.id)
      const annotations = yield* records.forBet(bet.id)
      const waiting = yield* waitingForRunner(annotations)
      return new Bet({
        id: bet.id,
        projectId: bet.projectId,
        title: bet.title,
        status: bet.status,
        predictedImpact: impactOf(bet),
        promotedAt: bet.promotedAt,
        shippedAt: bet.shippedAt,
        outcome: Option.getOrNull(Option.map(outcome, (row) => outcomeOf(row, bet.timeframeDays, now, run))),
        annotations: annotations.map((record) => new BetAnnotation(annotationFields(record, waiting)))
      })
    })

    const requireBet = (workspaceId: WorkspaceId, betId: BetId, lock = false) =>
      Effect.flatMap(
        bets.find(workspaceId, betId, { lock }),
        Option.match({ onNone: () => Effect.fail(new NotFound()), onSome: Effect.succeed })
      )

    const requireMetric = (workspaceId: WorkspaceId, impact: PredictedImpact) =>
      Effect.flatMap(
        bets.metricInWorkspace(workspaceId, impact.metricId),
        (found) => found ? Effect.void : Effect.fail(new NotFound({ message: "No such metric in this workspace." }))
      )

    const impactColumns = (impact: PredictedImpact) => ({
      metricId: impact.metricId,
      direction: impact.direction,
      magnitude: impact.magnitude,
      magnitudeUnit: impact.magnitudeUnit,
      timeframeDays: impact.timeframeDays,
      cohortId: impact.cohortId ?? null
    })

    /** Creating a bet promotes it: annotation `promoted`. */
    const create = Effect.fn("Bets.create")(
      function*(workspaceId: WorkspaceId, projectId: ProjectId, actorId: string, input: NewBetInput) {
        if (!(yield* bets.projectInWorkspace(workspaceId, projectId))) {
          return yield* new NotFound({ message: "No such project in this workspace." })
        }
        yield* requireMetric(workspaceId, input.predictedImpact)
        const bet = yield* transaction(Effect.gen(function*() {
          const bet = yield* bets.insert({
            workspaceId,
            projectId,
            title: input.title,
            ...impactColumns(input.predictedImpact),
            createdBy: actorId
          })
          yield* scheduler.betEvent({ workspaceId, betId: bet.id, kind: "promoted" })
          return bet
        }))
        return yield* view(bet)
      }
    )

    const get = Effect.fn("Bets.get")(function*(workspaceId: WorkspaceId, betId: BetId) {
      return yield* view(yield* requireBet(workspaceId, betId))
    })

    /** A new title re-labels every existing annotation of the bet (PUT in Amplitude). */
    const update = Effect.fn("Bets.update")(function*(
      workspaceId: WorkspaceId,
      betId: BetId,
      changes: { readonly title?: string | undefined; readonly predictedImpact?: PredictedImpact | undefined }
    ) {
      if (changes.predictedImpact !== undefined) yield* requireMetric(workspaceId, changes.predictedImpact)
      const bet = yield* transaction(Effect.gen(function*() {
        const before = yield* requireBet(workspaceId, betId, true)
        const after = yield* bets.update(workspaceId, betId, {
          ...(changes.title === undefined ? {} : { title: changes.title }),
          ...(changes.predictedImpact === undefined ? {} : { impact: impactColumns(changes.predictedImpact) })
        })
        if (changes.title !== undefined && changes.title !== before.title) {
          yield* scheduler.betRenamed({ workspaceId, betId })
        }
        return Option.getOrElse(after, () => before)
      }))
      return yield* view(bet)
    })

    /** Marks the bet shipped (annotation `shipped`); shipping again with another time moves the annotation. */
    const ship = Effect.fn("Bets.ship")(function*(workspaceId: WorkspaceId, betId: BetId, shippedAt: Date | undefined) {
      const bet = yield* transaction(Effect.gen(function*() {
        const before = yield* requireBet(workspaceId, betId, true)
        const at = shippedAt ?? before.shippedAt ?? new Date(yield* Clock.currentTimeMillis)
        if (before.status === "shipped" && before.shippedAt?.getTime() === at.getTime()) return before
        const after = Option.getOrElse(yield* bets.ship(workspaceId, betId, at), () => before)
        yield* scheduler.betEvent({ workspaceId, betId, kind: "shipped" })
        return after
      }))
      return yield* view(bet)
    })

    /** Sets or changes the outcome; a new ship date moves the `shipped` annotation to it. */
    const logOutcome = Effect.fn("Bets.logOutcome")(function*(
      workspaceId: WorkspaceId,
      betId: BetId,
      input: { readonly shipDate: string; readonly whatShipped: string }
    ) {
      const { bet, outcome } = yield* transaction(Effect.gen(function*() {
        let bet = yield* requireBet(workspaceId, betId, true)
        const previous = yield* bets.findOutcome(betId)
        const outcome = yield* bets.saveOutcome(workspaceId, betId, input)
        if (bet.status !== "shipped") {
          bet = Option.getOrElse(
            yield* bets.ship(workspaceId, betId, new Date(`${input.shipDate}T00:00:00Z`)),
            () => bet
          )
        }
        if (Option.isNone(previous) || previous.value.shipDate !== input.shipDate) {
          yield* scheduler.betEvent({ workspaceId, betId, kind: "shipped" })
        }
        return { bet, outcome }
      }))
      return outcomeOf(outcome, bet.timeframeDays, yield* Clock.currentTimeMillis, yield* lastRun(betId))
    })

    /** A PM's verdict: recorded as an override, audited, and pushed as the `verdict` annotation. */
    const overrideVerdict = Effect.fn("Bets.overrideVerdict")(
      function*(workspaceId: WorkspaceId, betId: BetId, actorId: string, verdict: Verdict) {
        const { bet, outcome } = yield* transaction(Effect.gen(function*() {
          const bet = yield* requireBet(workspaceId, betId, true)
          const previous = yield* bets.findOutcome(betId)
          if (Option.isNone(previous)) return yield* new OutcomeNotSet()
          const outcome = Option.getOrElse(
            yield* bets.setVerdict(betId, verdict, "override", null),
            () => previous.value
          )
          yield* audit.record({
            workspaceId,
            actorId,
            action: "bet.verdict_overridden",
            details: { betId, verdict, previousVerdict: previous.value.verdict }
          })
          if (previous.value.verdict !== verdict) {
            yield* scheduler.betEvent({ workspaceId, betId, kind: "verdict" })
          }
          return { bet, outcome }
        }))
        return outcomeOf(outcome, bet.timeframeDays, yield* Clock.currentTimeMillis, yield* lastRun(betId))
      }
    )

    const activity = Effect.fn("Bets.activity")(function*(workspaceId: WorkspaceId, limit: number) {
      const found = yield* records.forWorkspace(workspaceId, limit)
      const waiting = yield* waitingForRunner(found)
      return found.map((record) =>
        new AnnotationActivity({ betId: record.betId, ...annotationFields(record, waiting) })
      )
    })

    return { create, get, update, ship, logOutcome, overrideVerdict, activity } as const
  }),
  dependencies: [BetsRepo.Default, AnnotationRecordsRepo.Default, AuditLog.Default, OutcomeRunsRepo.Default]
}) {}
