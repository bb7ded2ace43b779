import { SqlClient, SqlSchema, type Statement } from "@effect/sql"
import {
  BetId,
  BetStatus,
  Direction,
  MagnitudeUnit,
  MetricId,
  ProjectId,
  Verdict,
  VerdictSource,
  WorkspaceId
} from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { uuidList } from "./UuidList.js"

export class BetRow extends Schema.Class<BetRow>("BetRow")({
  id: BetId,
  workspaceId: WorkspaceId,
  projectId: ProjectId,
  title: Schema.String,
  status: BetStatus,
  metricId: MetricId,
  direction: Direction,
  magnitude: Schema.Number,
  magnitudeUnit: MagnitudeUnit,
  timeframeDays: Schema.Number,
  cohortId: Schema.NullOr(Schema.String),
  promotedAt: Schema.DateFromSelf,
  shippedAt: Schema.NullOr(Schema.DateFromSelf)
}) {}

export class OutcomeRow extends Schema.Class<OutcomeRow>("OutcomeRow")({
  betId: BetId,
  workspaceId: WorkspaceId,
  /** `YYYY-MM-DD`. */
  shipDate: Schema.String,
  whatShipped: Schema.String,
  verdict: Schema.NullOr(Verdict),
  verdictSource: Schema.NullOr(VerdictSource),
  verdictAt: Schema.NullOr(Schema.DateFromSelf)
}) {}

export interface NewBet {
  readonly workspaceId: WorkspaceId
  readonly projectId: ProjectId
  readonly title: string
  readonly metricId: MetricId
  readonly direction: Direction
  readonly magnitude: number
  readonly magnitudeUnit: MagnitudeUnit
  readonly timeframeDays: number
  readonly cohortId: string | null
  readonly createdBy: string
}

export interface BetChanges {
  readonly title?: string
  readonly impact?: Pick<
    NewBet,
    "metricId" | "direction" | "magnitude" | "magnitudeUnit" | "timeframeDays" | "cohortId"
  >
}

const betColumns = `
  id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit, timeframe_days,
  cohort_id, promoted_at, shipped_at`

const outcomeColumns = `
  bet_id, workspace_id, to_char(ship_date, 'YYYY-MM-DD') AS ship_date, what_shipped, verdict, verdict_source, verdict_at`

/** Bets and their outcome (one per bet). Every method is scoped to a workspace. */
export class BetsRepo extends Effect.Service<BetsRepo>()("@findry/persistence/BetsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const bets = sql.unsafe(betColumns)
    const outcomes = sql.unsafe(outcomeColumns)

    const decodeBet = Schema.decodeUnknown(BetRow)
    const decodeOutcome = Schema.decodeUnknown(OutcomeRow)
    const decodeBets = Schema.decodeUnknown(Schema.Array(BetRow))
    const decodeOutcomes = Schema.decodeUnknown(Schema.Array(OutcomeRow))
    const first = <A>(decode: (row: unknown) => Effect.Effect<A, unknown>) => (rows: ReadonlyArray<unknown>) =>
      rows.length === 0 ? Effect.succeedNone : Effect.asSome(decode(rows[0]))

    const exists = (statement: Statement.Statement<unknown>) => Effect.map(statement, (rows) => rows.length > 0)

    const projectInWorkspace = (workspaceId: WorkspaceId, projectId: ProjectId): Effect.Effect<boolean> =>
      exists(sql`SELECT 1 FROM projects WHERE id = ${projectId} AND workspace_id = ${workspaceId}`).pipe(
        Effect.orDie,
        Effect.withSpan("BetsRepo.projectInWorkspace")
      )

    const metricInWorkspace = (workspaceId: WorkspaceId, metricId: MetricId): Effect.Effect<boolean> =>
      exists(sql`SELECT 1 FROM metrics WHERE id = ${metricId} AND workspace_id = ${workspaceId}`).pipe(
        Effect.orDie,
        Effect.withSpan("BetsRepo.metricInWorkspace")
      )

    const insert = (bet: NewBet): Effect.Effect<BetRow> =>
      sql`
        INSERT INTO bets (
          id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit,
          timeframe_days, cohort_id, promoted_at, created_by)
        VALUES (
          ${randomUUID()}, ${bet.workspaceId}, ${bet.projectId}, ${bet.title}, 'promoted', ${bet.metricId},
          ${bet.direction}, ${bet.magnitude}, ${bet.magnitudeUnit}, ${bet.timeframeDays}, ${bet.cohortId}, now(),
          ${bet.createdBy})
        RETURNING ${bets}`.pipe(
        Effect.flatMap(first(decodeBet)),
        Effect.map(Option.getOrThrow),
        Effect.orDie,
        Effect.withSpan("BetsRepo.insert")
      )

    const findBet = SqlSchema.findOne({
      Request: Schema.Struct({ workspaceId: Schema.String, betId: Schema.String, lock: Schema.Boolean }),
      Result: BetRow,
      execute: ({ betId, lock, workspaceId }) =>
        sql`
          SELECT ${bets} FROM bets WHERE id = ${betId} AND workspace_id = ${workspaceId}
          ${lock ? sql`FOR UPDATE` : sql``}`
    })

    /** `lock`: `SELECT … FOR UPDATE`, for read-modify-write inside a transaction. */
    const find = (workspaceId: WorkspaceId, betId: BetId, options: { readonly lock?: boolean } = {}) =>
      findBet({ workspaceId, betId, lock: options.lock === true }).pipe(
        Effect.orDie,
        Effect.withSpan("BetsRepo.find")
      )

    /**
     * The bets of `keys` with their outcome (none while not shipped), by bet id, in two statements; a bet that
     * does not exist in the workspace named with it is left out.
     */
    const findAllWithOutcome = (
      keys: ReadonlyArray<{ readonly workspaceId: WorkspaceId; readonly betId: BetId }>
    ): Effect.Effect<ReadonlyMap<BetId, { readonly bet: BetRow; readonly outcome: Option.Option<OutcomeRow> }>> =>
      Effect.gen(function*() {
        if (keys.length === 0) return new Map()
        const wanted = JSON.stringify(keys.map(({ betId, workspaceId }) => ({ betId, workspaceId })))
        const found = yield* Effect.flatMap(
          sql`
            SELECT DISTINCT ${bets} FROM bets
            JOIN jsonb_to_recordset(${wanted}::jsonb) AS k("betId" uuid, "workspaceId" uuid)
              ON bets.id = k."betId" AND bets.workspace_id = k."workspaceId"`,
          decodeBets
        )
        const outcomeRows = found.length === 0 ? [] : yield* Effect.flatMap(
          sql`SELECT ${outcomes} FROM outcomes WHERE bet_id IN ${uuidList(sql, found.map((bet) => bet.id))}`,
          decodeOutcomes
        )
        const outcomeOf = new Map(outcomeRows.map((outcome) => [outcome.betId, outcome]))
        return new Map(found.map((bet) => [bet.id, { bet, outcome: Option.fromNullable(outcomeOf.get(bet.id)) }]))
      }).pipe(Effect.orDie, Effect.withSpan("BetsRepo.findAllWithOutcome", { attributes: { bets: keys.length } }))

    const update = (
      workspaceId: WorkspaceId,
      betId: BetId,
      changes: BetChanges
    ): Effect.Effect<Option.Option<BetRow>> =>
      sql`
        UPDATE bets SET
          title = coalesce(${changes.title ?? null}, title),
          ${
        changes.impact === undefined ? sql`` : sql`
          metric_id = ${changes.impact.metricId}, direction = ${changes.impact.direction},
          magnitude = ${changes.impact.magnitude}, magnitude_unit = ${changes.impact.magnitudeUnit},
          timeframe_days = ${changes.impact.timeframeDays}, cohort_id = ${changes.impact.cohortId},`
      }
          updated_at = now()
        WHERE id = ${betId} AND workspace_id = ${workspaceId}
        RETURNING ${bets}`.pipe(Effect.flatMap(first(decodeBet)), Effect.orDie, Effect.withSpan("BetsRepo.update"))

    const ship = (workspaceId: WorkspaceId, betId: BetId, shippedAt: Date): Effect.Effect<Option.Option<BetRow>> =>
      sql`
        UPDATE bets SET status = 'shipped', shipped_at = ${shippedAt}, updated_at = now()
        WHERE id = ${betId} AND workspace_id = ${workspaceId}
        RETURNING ${bets}`.pipe(Effect.flatMap(first(decodeBet)), Effect.orDie, Effect.withSpan("BetsRepo.ship"))

    const findOutcome = (betId: BetId): Effect.Effect<Option.Option<OutcomeRow>> =>
      sql`SELECT ${outcomes} FROM outcomes WHERE bet_id = ${betId}`.pipe(
        Effect.flatMap(first(decodeOutcome)),
        Effect.orDie,
        Effect.withSpan("BetsRepo.findOutcome")
      )

    const saveOutcome = (
      workspaceId: WorkspaceId,
      betId: BetId,
      outcome: { readonly shipDate: string; readonly whatShipped: string }
    ): Effect.Effect<OutcomeRow> =>
      sql`
        INSERT INTO outcomes (bet_id, workspace_id, ship_date, what_shipped)
        VALUES (${betId}, ${workspaceId}, ${outcome.shipDate}::date, ${outcome.whatShipped})
        ON CONFLICT (bet_id) DO UPDATE SET
          ship_date = EXCLUDED.ship_date, what_shipped = EXCLUDED.what_shipped, updated_at = now()
        RETURNING ${outcomes}`.pipe(
        Effect.flatMap(first(decodeOutcome)),
        Effect.map(Option.getOrThrow),
        Effect.orDie,
        Effect.withSpan("BetsRepo.saveOutcome")
      )

    /**
     * Records a verdict. `measuredAt` is when the deciding measurement was taken (the verdict annotation's
     * time); a PM override without a new measurement passes `null` and keeps the previous one (or now).
     */
    const setVerdict = (
      betId: BetId,
      verdict: Verdict,
      source: VerdictSource,
      measuredAt: Date | null
    ): Effect.Effect<Option.Option<OutcomeRow>> =>
      sql`
        UPDATE outcomes SET verdict = ${verdict}, verdict_source = ${source},
          verdict_at = coalesce(${measuredAt}::timestamptz, verdict_at, now()), updated_at = now()
        WHERE bet_id = ${betId}
        RETURNING ${outcomes}`.pipe(
        Effect.flatMap(first(decodeOutcome)),
        Effect.orDie,
        Effect.withSpan("BetsRepo.setVerdict")
      )

    return {
      projectInWorkspace,
      metricInWorkspace,
      insert,
      find,
      findAllWithOutcome,
      update,
      ship,
      findOutcome,
      saveOutcome,
      setVerdict
    } as const
  })
}) {}
