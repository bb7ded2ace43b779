import { SqlClient } from "@effect/sql"
import { ConnectionResolver, failureReason, type LiveConnection } from "@findry/amplitude-access"
import { AMPLITUDE_PROVIDER, CallPolicy, type ConnectedProject } from "@findry/amplitude-adapter"
import { AnnotationScheduler } from "@findry/annotations"
import {
  BetId,
  NotFound,
  OutcomeNotSet,
  OutcomeRun,
  OutcomeRunId,
  type RateLimited,
  type Verdict,
  type WorkspaceId
} from "@findry/domain"
import {
  type DueBet,
  type MeasurementSubject,
  type NewOutcomeRun,
  type OutcomeRunRecord,
  OutcomeRunsRepo
} from "@findry/persistence"
import { Array as Arr, Cause, Clock, Effect, Either, Metric, Option } from "effect"
import { randomUUID } from "node:crypto"
import {
  blocking,
  coverage,
  type Measured,
  measureMapping,
  type Note,
  type ProjectLookups,
  projectLookups,
  remark
} from "./MetricValues.js"
import { dayOf, elapsed, variance, verdictOf, windowClosed, windows } from "./Verdicts.js"

/** A live connection to the workspace's Amplitude project, with its per-measurement lookups. */
interface Access {
  readonly connection: ConnectedProject
  readonly lookups: ProjectLookups
  /** The project's fingerprint: bets of the same Amplitude project share its rate limits. */
  readonly project: string
}

export interface SweepOptions {
  /** Amplitude projects swept at the same time (default 16). */
  readonly projectConcurrency?: number
  /**
   * Bets of one project measured at the same time (default 5, Amplitude's concurrent-request limit); the
   * adapter's governor still caps requests in flight per project.
   */
  readonly betConcurrency?: number
  /** Most bets taken in one sweep (default 10,000); the rest wait for the next one. */
  readonly limit?: number
}

/** Outcome sweeps run (the hourly cron). */
export const sweeps = Metric.counter("outcome_sweep.runs", { description: "Outcome sweeps run", incremental: true })

/**
 * The sweeps' bets, by `result`: `due` (taken), `measured` (runs recorded), `verdicts` (assigned or changed),
 * `retryLater` (blocked: not connected, rate-limited, …) and `failed` (unexpected errors).
 */
export const sweptBets = Metric.counter("outcome_sweep.bets", {
  description: "Bets handled by outcome sweeps, by result (due, measured, verdicts, retryLater, failed)",
  incremental: true
})

export interface SweepReport {
  /** Bets the sweep took (being measured and due). */
  readonly due: number
  /** Runs recorded. */
  readonly measured: number
  /** Verdicts assigned or changed (each pushed as the bet's `verdict` annotation). */
  readonly verdicts: number
  /** Runs with a blocking warning (not connected, unknown event, rate limit, …): tried again next sweep. */
  readonly retryLater: number
  /** Bets whose measurement failed unexpectedly (logged). */
  readonly failed: number
}

/** Bets of one project measured before their runs are stored together, in one transaction. */
const SWEEP_BATCH = 50

/** A bet measured while its window is open is measured again by the sweep after this long. */
export const REMEASURE_AFTER_MS = 20 * 3_600_000

const notConnected = "Amplitude not connected"

const toOutcomeRun = (run: NewOutcomeRun | OutcomeRunRecord): OutcomeRun =>
  new OutcomeRun({
    id: run.id,
    measuredAt: run.measuredAt,
    baseline: run.baseline,
    observed: run.observed,
    varianceAbs: run.varianceAbs,
    variancePct: run.variancePct,
    verdict: run.verdict,
    warnings: [...run.warnings]
  })

/** The API shape of a stored run (`Outcome.lastRun`). */
export const outcomeRunView = (run: OutcomeRunRecord): OutcomeRun => toOutcomeRun(run)

/** Why an inconclusive verdict had too little data, if that is the reason. */
const insufficient = (measured: Measured, magnitudeUnit: "percent" | "absolute"): Note | undefined =>
  measured.baseline === null
    ? remark("insufficient data: no baseline value")
    : measured.observed === null
    ? remark("insufficient data: no observed value")
    : measured.baseline === 0 && magnitudeUnit === "percent"
    ? remark("insufficient data: the baseline is 0, so a percent change cannot be computed")
    : undefined

/**
 * Measures bet outcomes from Amplitude (docs/product-rules.md): "Pull metrics" for one bet (interactive calls) and the
 * outcome sweep over every bet being measured (background calls, bounded concurrency per Amplitude project).
 * Runs are recorded; a verdict is assigned once the window has closed and the values are trustworthy, and
 * every verdict change schedules the bet's `verdict` annotation in the same transaction.
 */
export class OutcomeMeasurement extends Effect.Service<OutcomeMeasurement>()("@findry/outcomes/OutcomeMeasurement", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const runs = yield* OutcomeRunsRepo
    const resolver = yield* ConnectionResolver
    const annotations = yield* AnnotationScheduler

    const toAccess = ({ connection, record }: LiveConnection): Effect.Effect<Access> =>
      Effect.map(projectLookups(connection), (lookups) => ({
        connection,
        lookups,
        project: record.projectFingerprint ?? `workspace:${record.workspaceId}`
      }))

    const accessFor = (workspaceId: WorkspaceId, policy: CallPolicy): Effect.Effect<Access | undefined> =>
      Effect.gen(function*() {
        const live = yield* Effect.option(resolver.live(workspaceId, { policy }))
        return Option.isNone(live) ? undefined : yield* toAccess(live.value)
      })

    const measure = Effect.fn("OutcomeMeasurement.measure")(function*(
      subject: MeasurementSubject & { readonly shipDate: string },
      access: Access | undefined,
      measuredAt: Date,
      trigger: "pull" | "sweep"
    ) {
      yield* Effect.annotateCurrentSpan({ betId: subject.betId, trigger })
      const today = dayOf(measuredAt)
      const { shipDate, timeframeDays } = subject
      const full = windows(shipDate, timeframeDays)
      const baselineRange = elapsed(full.baseline, today)
      const observedRange = elapsed(full.observed, today)
      const closed = windowClosed(shipDate, timeframeDays, today)
      const mapping = subject.mapping?.mapping ?? null

      const notes: Array<Note> = []
      if (mapping === null) {
        notes.push(blocking(`no Amplitude mapping for metric "${subject.metricName}": map the metric to measure it`))
      }
      if (access === undefined) notes.push(blocking(notConnected))
      let measured: Measured = { baseline: null, observed: null, sample: null, notes: [] }
      if (mapping !== null && access !== undefined) {
        if (mapping.needsReview) {
          notes.push(blocking(
            "mapping needs review: the workspace was reconnected to a different Amplitude project; save the " +
              "mapping again to confirm it"
          ))
        }
        measured = yield* measureMapping(access.connection, access.lookups, {
          mapping,
          baseline: baselineRange,
          observed: observedRange,
          cohortId: subject.cohortId,
          earlierSample: runs.sampleOnOrBefore(subject.betId, shipDate),
          beforeShip: today <= shipDate
        }).pipe(
          Effect.catchAll((error) =>
            Effect.succeed<Measured>({
              baseline: null,
              observed: null,
              sample: null,
              notes: [blocking(failureReason(error))]
            })
          )
        )
        notes.push(...measured.notes)
      }
      if (!closed) {
        notes.push(remark(
          observedRange === undefined
            ? `measurement window opens on ${shipDate}: nothing observed yet`
            : `measurement window open until ${full.observed.end}: observed covers ${
              coverage(observedRange, timeframeDays)
            } of ${timeframeDays} days`
        ))
      }
      const blocked = notes.some((note) => note.blocking)
      let verdict: Verdict | null = null
      if (closed && !blocked) {
        verdict = verdictOf(subject, measured.baseline, measured.observed)
        const lacking = insufficient(measured, subject.magnitudeUnit)
        if (verdict === "inconclusive" && lacking !== undefined) notes.push(lacking)
      }
      const run: NewOutcomeRun = {
        id: OutcomeRunId.make(randomUUID()),
        betId: subject.betId,
        workspaceId: subject.workspaceId,
        mappingId: subject.mapping?.mapping.id ?? null,
        trigger,
        measuredAt,
        baselineStart: baselineRange?.start ?? null,
        baselineEnd: baselineRange?.end ?? null,
        observedStart: observedRange?.start ?? null,
        observedEnd: observedRange?.end ?? null,
        baseline: measured.baseline,
        observed: measured.observed,
        ...variance(measured.baseline, measured.observed),
        sample: measured.sample,
        verdict,
        warnings: notes.map((note) => note.text)
      }
      return { run, blocked }
    })

    /**
     * Stores runs in one transaction: the runs, the verdicts they decide, and the `verdict` annotation of each bet
     * whose verdict changed. Answers how many changed.
     */
    const recordAll = (measured: ReadonlyArray<NewOutcomeRun>) =>
      sql.withTransaction(Effect.gen(function*() {
        yield* runs.insertAll(measured)
        const decided = measured.flatMap((run) =>
          run.verdict === null ? [] : [{ betId: run.betId, verdict: run.verdict, measuredAt: run.measuredAt }]
        )
        const changed = yield* runs.assignVerdicts(decided)
        yield* annotations.betEvents(
          measured.flatMap((run) =>
            changed.has(run.betId)
              ? [{ workspaceId: run.workspaceId, betId: BetId.make(run.betId), kind: "verdict" as const }]
              : []
          )
        )
        return changed.size
      })).pipe(Effect.orDie, Effect.withSpan("OutcomeMeasurement.recordAll", { attributes: { runs: measured.length } }))

    const withShipDate = (subject: MeasurementSubject) =>
      subject.shipDate === null ? undefined : { ...subject, shipDate: subject.shipDate }

    /**
     * "Pull metrics": measures one bet now, with interactive Amplitude calls, and records the run. `beforeCalling`
     * runs when Amplitude is going to be called, and may refuse the pull.
     */
    const pull = Effect.fn("OutcomeMeasurement.pull")(function*(
      workspaceId: WorkspaceId,
      betId: BetId,
      options: { readonly beforeCalling?: Effect.Effect<void, RateLimited> } = {}
    ) {
      const found = yield* runs.subject(workspaceId, betId, AMPLITUDE_PROVIDER)
      if (Option.isNone(found)) return yield* new NotFound()
      const subject = withShipDate(found.value)
      if (subject === undefined) {
        return yield* new OutcomeNotSet({
          message: "Log the outcome first (ship date and what shipped), then pull metrics."
        })
      }
      const access = yield* accessFor(workspaceId, CallPolicy.interactive)
      const callsAmplitude = access !== undefined && (subject.mapping?.mapping ?? null) !== null
      if (callsAmplitude && options.beforeCalling !== undefined) yield* options.beforeCalling
      const measuredAt = new Date(yield* Clock.currentTimeMillis)
      const { run } = yield* measure(subject, access, measuredAt, "pull")
      yield* recordAll([run])
      return toOutcomeRun(run)
    })

    /** The outcome sweep: every bet being measured that is due, grouped by Amplitude project. */
    const sweep = Effect.fn("OutcomeMeasurement.sweep")(function*(options: SweepOptions = {}) {
      const now = yield* Clock.currentTimeMillis
      const due = yield* runs.due({
        today: dayOf(now),
        staleBefore: new Date(now - REMEASURE_AFTER_MS),
        limit: options.limit ?? 10_000
      })
      const connections = yield* resolver.liveAll([...new Set(due.map((bet) => bet.workspaceId))], {
        policy: CallPolicy.background
      })
      const accesses = new Map<string, Access | undefined>()
      for (const [workspaceId, live] of connections) {
        accesses.set(workspaceId, Either.isRight(live) ? yield* toAccess(live.right) : undefined)
      }
      const byProject = new Map<string, Array<(typeof due)[number]>>()
      for (const bet of due) {
        const key = accesses.get(bet.workspaceId)?.project ?? `workspace:${bet.workspaceId}`
        const bets = byProject.get(key)
        if (bets === undefined) byProject.set(key, [bet])
        else bets.push(bet)
      }
      const counts = { measured: 0, verdicts: 0, retryLater: 0, failed: 0 }
      const failed = (bets: ReadonlyArray<DueBet>, what: string) => (cause: Cause.Cause<never>) =>
        Cause.isInterruptedOnly(cause) ?
          Effect.failCause(cause) :
          Effect.logError(`Outcome sweep: ${what}`, cause).pipe(
            Effect.annotateLogs(
              bets.length === 1 ? { betId: bets[0]!.betId, workspaceId: bets[0]!.workspaceId } : { bets: bets.length }
            ),
            Effect.tap(() => {
              counts.failed += bets.length
            })
          )

      /** Measures a batch of one project's bets (Amplitude calls at `betConcurrency`) and records their runs at once. */
      const sweepBatch = (bets: ReadonlyArray<DueBet>) =>
        Effect.gen(function*() {
          const subjects = yield* runs.subjectsOf(bets, AMPLITUDE_PROVIDER)
          const measured: Array<{ readonly run: NewOutcomeRun; readonly blocked: boolean }> = []
          yield* Effect.forEach(
            bets,
            (bet) => {
              const found = subjects.get(bet.betId)
              const subject = found === undefined ? undefined : withShipDate(found)
              if (subject === undefined) return Effect.void
              return Effect.flatMap(Clock.currentTimeMillis, (now) =>
                measure(subject, accesses.get(bet.workspaceId), new Date(now), "sweep").pipe(
                  Effect.map((result) => {
                    measured.push(result)
                  })
                )).pipe(Effect.catchAllCause(failed([bet], "a bet failed")))
            },
            { concurrency: options.betConcurrency ?? 5, discard: true }
          )
          if (measured.length === 0) {
            return
          }
          const changed = yield* recordAll(measured.map(({ run }) =>
            run
          ))
          counts.measured += measured.length
          counts.verdicts += changed
          counts.retryLater += measured.filter(({ blocked }) => blocked).length
        }).pipe(Effect.catchAllCause(failed(bets, "a batch of bets failed")))

      yield* Effect.forEach(
        byProject.values(),
        (bets) => Effect.forEach(Arr.chunksOf(bets, SWEEP_BATCH), sweepBatch, { discard: true }),
        { concurrency: options.projectConcurrency ?? 16, discard: true }
      )
      const report: SweepReport = { due: due.length, ...counts }
      yield* Effect.forEach(
        Object.entries(report),
        ([result, count]) => Metric.incrementBy(Metric.tagged(sweptBets, "result", result), count),
        { discard: true }
      )
      yield* Metric.increment(sweeps)
      yield* Effect.logInfo("Outcome sweep finished").pipe(Effect.annotateLogs({ ...report }))
      return report
    })

    return { pull, sweep } as const
  }),
  dependencies: [OutcomeRunsRepo.Default, ConnectionResolver.Default]
}) {}
