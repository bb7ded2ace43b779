import { SqlClient } from "@effect/sql"
import { MetricId, MetricUnit, OutcomeRunId, WorkspaceId } from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import { mappingFromRow, type MappingRecord } from "./MetricsRepo.js"

const Verdict = Schema.Literal("hit", "miss", "inconclusive")
type Verdict = typeof Verdict.Type

const SubjectRow = Schema.Struct({
  betId: Schema.String,
  workspaceId: WorkspaceId,
  title: Schema.String,
  metricId: MetricId,
  metricName: Schema.String,
  metricUnit: MetricUnit,
  direction: Schema.Literal("increase", "decrease"),
  magnitude: Schema.Number,
  magnitudeUnit: Schema.Literal("percent", "absolute"),
  timeframeDays: Schema.Number,
  cohortId: Schema.NullOr(Schema.String),
  shipDate: Schema.NullOr(Schema.String),
  verdict: Schema.NullOr(Verdict),
  verdictSource: Schema.NullOr(Schema.Literal("sweep", "override"))
})

/** Everything a measurement of one bet needs: the prediction, the outcome's ship date and the metric's mapping. */
export interface MeasurementSubject extends Schema.Schema.Type<typeof SubjectRow> {
  readonly mapping: MappingRecord | null
}

export class OutcomeRunRecord extends Schema.Class<OutcomeRunRecord>("OutcomeRunRecord")({
  id: OutcomeRunId,
  betId: Schema.String,
  workspaceId: WorkspaceId,
  trigger: Schema.Literal("pull", "sweep"),
  measuredAt: Schema.DateFromSelf,
  baselineStart: Schema.NullOr(Schema.String),
  baselineEnd: Schema.NullOr(Schema.String),
  observedStart: Schema.NullOr(Schema.String),
  observedEnd: Schema.NullOr(Schema.String),
  baseline: Schema.NullOr(Schema.Number),
  observed: Schema.NullOr(Schema.Number),
  varianceAbs: Schema.NullOr(Schema.Number),
  variancePct: Schema.NullOr(Schema.Number),
  sample: Schema.NullOr(Schema.Number),
  verdict: Schema.NullOr(Verdict),
  warnings: Schema.Array(Schema.String)
}) {}

export interface NewOutcomeRun {
  readonly id: OutcomeRunId
  readonly betId: string
  readonly workspaceId: WorkspaceId
  readonly mappingId: string | null
  readonly trigger: "pull" | "sweep"
  readonly measuredAt: Date
  readonly baselineStart: string | null
  readonly baselineEnd: string | null
  readonly observedStart: string | null
  readonly observedEnd: string | null
  readonly baseline: number | null
  readonly observed: number | null
  readonly varianceAbs: number | null
  readonly variancePct: number | null
  readonly sample: number | null
  readonly verdict: Verdict | null
  readonly warnings: ReadonlyArray<string>
}

export interface DueBet {
  readonly workspaceId: WorkspaceId
  readonly betId: string
}

const RUN_COLUMNS = `
  id, bet_id, workspace_id, trigger, measured_at, baseline_start::text, baseline_end::text, observed_start::text,
  observed_end::text, baseline, observed, variance_abs, variance_pct, sample, verdict, warnings`

const decodeSubject = Schema.decodeUnknown(SubjectRow)
const decodeRun = Schema.decodeUnknown(OutcomeRunRecord)

/** Measurement runs of bet outcomes, what the outcome sweep has to do, and the sweep's verdicts. */
export class OutcomeRunsRepo extends Effect.Service<OutcomeRunsRepo>()("@findry/persistence/OutcomeRunsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const runColumns = sql.unsafe(RUN_COLUMNS)

    const subjectColumns = sql.unsafe(`
      b.id AS bet_id, b.workspace_id, b.title, b.metric_id, m.name AS metric_name, m.unit AS metric_unit,
      b.direction, b.magnitude, b.magnitude_unit, b.timeframe_days, b.cohort_id,
      o.ship_date::text AS ship_date, o.verdict, o.verdict_source,
      mm.id AS mapping_id, mm.kind AS mapping_kind, mm.params AS mapping_params,
      mm.needs_review AS mapping_needs_review, mm.updated_at AS mapping_updated_at`)
    const subjectJoins = (provider: string) =>
      sql`JOIN metrics m ON m.id = b.metric_id
          LEFT JOIN outcomes o ON o.bet_id = b.id
          LEFT JOIN metric_mappings mm ON mm.metric_id = b.metric_id AND mm.provider = ${provider}`

    const toSubject = (row: Record<string, unknown>) =>
      Effect.gen(function*() {
        const decoded = yield* decodeSubject(row)
        const mapping = row["mappingId"] == null ? null : yield* mappingFromRow({
          id: row["mappingId"],
          workspaceId: row["workspaceId"],
          metricId: row["metricId"],
          kind: row["mappingKind"],
          params: row["mappingParams"],
          needsReview: row["mappingNeedsReview"],
          updatedAt: row["mappingUpdatedAt"]
        })
        return { ...decoded, mapping } satisfies MeasurementSubject
      })

    const subject = Effect.fn("OutcomeRunsRepo.subject")(
      function*(workspaceId: WorkspaceId, betId: string, provider: string) {
        const rows = yield* sql<Record<string, unknown>>`
          SELECT ${subjectColumns} FROM bets b ${subjectJoins(provider)}
          WHERE b.id = ${betId} AND b.workspace_id = ${workspaceId}`
        return rows[0] === undefined ? Option.none<MeasurementSubject>() : Option.some(yield* toSubject(rows[0]))
      },
      Effect.orDie
    )

    /** `subject` of many bets (as `due` lists them) in one round trip, by bet id; a bet gone since is absent. */
    const subjectsOf = Effect.fn("OutcomeRunsRepo.subjectsOf")(
      function*(bets: ReadonlyArray<DueBet>, provider: string) {
        if (bets.length === 0) return new Map<string, MeasurementSubject>()
        const rows = yield* sql<Record<string, unknown>>`
          SELECT ${subjectColumns}
          FROM jsonb_to_recordset(${JSON.stringify(bets)}::jsonb) AS due("betId" uuid, "workspaceId" uuid)
          JOIN bets b ON b.id = due."betId" AND b.workspace_id = due."workspaceId"
          ${subjectJoins(provider)}`
        const subjects = yield* Effect.forEach(rows, toSubject)
        return new Map(subjects.map((subject) => [subject.betId, subject]))
      },
      Effect.orDie
    )

    const insertRows = (runs: ReadonlyArray<NewOutcomeRun>) =>
      sql`INSERT INTO outcome_runs ${
        sql.insert(runs.map((run) => ({ ...run, warnings: JSON.stringify(run.warnings) })))
      }`

    const insert = Effect.fn("OutcomeRunsRepo.insert")(function*(run: NewOutcomeRun) {
      yield* insertRows([run])
    }, Effect.orDie)

    /** Many runs in one statement per 500. */
    const insertAll = Effect.fn("OutcomeRunsRepo.insertAll")(function*(runs: ReadonlyArray<NewOutcomeRun>) {
      for (let from = 0; from < runs.length; from += 500) yield* insertRows(runs.slice(from, from + 500))
    }, Effect.orDie)

    const latest = Effect.fn("OutcomeRunsRepo.latest")(function*(betId: string) {
      const rows = yield* sql`
        SELECT ${runColumns} FROM outcome_runs WHERE bet_id = ${betId} ORDER BY measured_at DESC, id LIMIT 1`
      return rows.length === 0 ? Option.none<OutcomeRunRecord>() : Option.some(yield* decodeRun(rows[0]))
    }, Effect.orDie)

    /** The latest run of each bet (for views listing several bets). */
    const latestOf = Effect.fn("OutcomeRunsRepo.latestOf")(function*(betIds: ReadonlyArray<string>) {
      if (betIds.length === 0) return new Map<string, OutcomeRunRecord>()
      const rows = yield* sql`
        SELECT DISTINCT ON (bet_id) ${runColumns} FROM outcome_runs
        WHERE ${sql.in("bet_id", betIds)} ORDER BY bet_id, measured_at DESC, id`
      const runs = yield* Effect.forEach(rows, (row) => decodeRun(row))
      return new Map(runs.map((run) => [run.betId, run]))
    }, Effect.orDie)

    /**
     * The point-in-time value (e.g. a cohort's size) recorded by the bet's latest run on or before `day`: the
     * baseline of metrics that Amplitude keeps no history for.
     */
    const sampleOnOrBefore = Effect.fn("OutcomeRunsRepo.sampleOnOrBefore")(function*(betId: string, day: string) {
      const rows = yield* sql<{ sample: number }>`
        SELECT sample FROM outcome_runs
        WHERE bet_id = ${betId} AND sample IS NOT NULL AND (measured_at AT TIME ZONE 'UTC')::date <= ${day}::date
        ORDER BY measured_at DESC LIMIT 1`
      return rows.length === 0 ? null : Number(rows[0]!.sample)
    }, Effect.orDie)

    /**
     * Bets being measured (an outcome with a ship date and no verdict yet): every one whose window has closed by
     * `today`, and the others when their latest run is older than `staleBefore`. Oldest ship dates first.
     */
    const due = Effect.fn("OutcomeRunsRepo.due")(
      function*(options: { readonly today: string; readonly staleBefore: Date; readonly limit: number }) {
        const rows = yield* sql<{ workspaceId: string; betId: string }>`
          SELECT b.workspace_id, b.id AS bet_id FROM outcomes o
          JOIN bets b ON b.id = o.bet_id
          LEFT JOIN LATERAL (
            SELECT measured_at FROM outcome_runs r WHERE r.bet_id = o.bet_id ORDER BY measured_at DESC LIMIT 1
          ) last_run ON true
          WHERE o.verdict IS NULL
            AND (o.ship_date + b.timeframe_days <= ${options.today}::date
              OR last_run.measured_at IS NULL OR last_run.measured_at < ${options.staleBefore})
          ORDER BY o.ship_date, b.id
          LIMIT ${options.limit}`
        return rows.map((row): DueBet => ({ workspaceId: WorkspaceId.make(row.workspaceId), betId: row.betId }))
      },
      Effect.orDie
    )

    /**
     * Sets each measured verdict (source `sweep`, time `measuredAt`) unless a PM overrode it or it is already that
     * verdict, in one statement; answers the bets whose verdict changed. Meant to run inside the caller's
     * transaction, next to the annotations it triggers.
     */
    const assignVerdicts = Effect.fn("OutcomeRunsRepo.assignVerdicts")(
      function*(
        verdicts: ReadonlyArray<{ readonly betId: string; readonly verdict: Verdict; readonly measuredAt: Date }>
      ) {
        if (verdicts.length === 0) return new Set<string>()
        const decided = JSON.stringify(verdicts)
        const rows = yield* sql<{ betId: string }>`
          UPDATE outcomes o SET verdict = u.verdict, verdict_source = 'sweep', verdict_at = u."measuredAt",
            updated_at = now()
          FROM jsonb_to_recordset(${decided}::jsonb) AS u("betId" uuid, verdict text, "measuredAt" timestamptz)
          WHERE o.bet_id = u."betId" AND o.verdict_source IS DISTINCT FROM 'override'
            AND o.verdict IS DISTINCT FROM u.verdict
          RETURNING o.bet_id`
        return new Set(rows.map((row) => row.betId))
      },
      Effect.orDie
    )

    /** `assignVerdicts` of one bet: true when its verdict changed. */
    const assignVerdict = (betId: string, verdict: Verdict, measuredAt: Date) =>
      Effect.map(assignVerdicts([{ betId, verdict, measuredAt }]), (changed) => changed.has(betId))

    return {
      subject,
      subjectsOf,
      insert,
      insertAll,
      latest,
      latestOf,
      sampleOnOrBefore,
      due,
      assignVerdict,
      assignVerdicts
    } as const
  })
}) {}
