import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS, projectData } from "@findry/amplitude-emulator"
import { BetId, type MappingParams, MetricId, type MetricUnit, PropertyFilter, type WorkspaceId } from "@findry/domain"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { amplitudeKeys, clientAs, putMapping, workspaceOf, workspaceWithMember } from "./support/Client.js"
import { call } from "./support/Http.js"
import { ApiTestLive, freshUser } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us
const US_DATA = projectData(US)
const PURCHASERS = US_DATA.cohorts.find((cohort) => cohort.name === "Purchasers")!.id
const DAILY_BUYERS = US_DATA.charts.find((chart) => chart.name === "Daily buyers")!.id
const EU = DEMO_PROJECTS.eu

/** A tagged error of the contract, with the message it must carry. */
const expectError = (error: { readonly _tag: string; readonly message?: string }, tag: string) => {
  assert.strictEqual(error._tag, tag, JSON.stringify(error))
  assert.isString(error.message)
}

const setup = Effect.gen(function*() {
  const { admin, member, memberId, path, workspaceId } = yield* workspaceWithMember
  const connect = (keys: ReturnType<typeof amplitudeKeys>) => admin.amplitudeConnection.connect({ path, payload: keys })
  const metric = (name: string, unit: MetricUnit = "integer") =>
    member.metrics.create({ path, payload: { name, unit } }).pipe(Effect.map((created) => created.id))
  const mapping = (metricId: MetricId) => ({ workspaceId, metricId })
  const save = (metricId: MetricId, payload: MappingParams) => putMapping(member, { path: mapping(metricId), payload })
  return { admin, member, memberId, workspaceId, path, connect, metric, mapping, save }
})

const usKeys = amplitudeKeys(US, "us")
const euKeys = amplitudeKeys(EU, "eu")
const unknownMetric = () => MetricId.make(randomUUID())

describe("metrics and Amplitude mappings", () => {
  layer(ApiTestLive(), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("creates, lists and edits metrics; names are unique per workspace ignoring case", () =>
      Effect.gen(function*() {
        const { member, memberId, path } = yield* setup
        const created = yield* member.metrics.create({
          path,
          payload: { name: "Weekly buyers", unit: "integer", description: "Users who bought" }
        })
        assert.deepInclude({ ...created }, { name: "Weekly buyers", unit: "integer", description: "Users who bought" })

        expectError(
          yield* Effect.flip(member.metrics.create({ path, payload: { name: "WEEKLY BUYERS", unit: "decimal" } })),
          "MetricNameTaken"
        )
        const other = yield* member.metrics.create({ path, payload: { name: "Conversion", unit: "percent" } })
        assert.isNull(other.description)
        yield* member.metrics.create({ path, payload: { name: "x".repeat(80), unit: "currency" } })

        const renamed = yield* member.metrics.update({
          path: { ...path, metricId: other.id },
          payload: { name: "Checkout conversion", description: "Share of carts bought" }
        })
        assert.deepStrictEqual({ ...renamed }, {
          id: other.id,
          name: "Checkout conversion",
          unit: "percent",
          description: "Share of carts bought"
        })
        expectError(
          yield* Effect.flip(
            member.metrics.update({ path: { ...path, metricId: other.id }, payload: { name: "weekly Buyers" } })
          ),
          "MetricNameTaken"
        )
        expectError(
          yield* Effect.flip(
            member.metrics.update({ path: { ...path, metricId: unknownMetric() }, payload: { unit: "decimal" } })
          ),
          "NotFound"
        )

        const listed = yield* member.metrics.list({ path })
        assert.deepStrictEqual(
          listed.metrics.map((m) => [m.name, m.amplitudeMapping]),
          [["Checkout conversion", null], ["Weekly buyers", null], ["x".repeat(80), null]]
        )
        const outsider = yield* clientAs(freshUser("outsider"))
        expectError(yield* Effect.flip(outsider.metrics.list({ path })), "NotFound")
        const elsewhere = yield* workspaceOf(freshUser("admin"))
        expectError(
          yield* Effect.flip(member.metrics.getMapping({ path: { workspaceId: elsewhere, metricId: other.id } })),
          "NotFound"
        )

        // What the typed client cannot send (untrimmed, oversized, unknown units, missing fields): sent raw.
        const trimmed = yield* call("POST", `/v1/workspaces/${path.workspaceId}/metrics`, {
          user: memberId,
          body: { name: "  Daily buyers ", unit: "integer" }
        })
        assert.strictEqual(trimmed.status, 201, trimmed.text)
        assert.strictEqual(trimmed.body.name, "Daily buyers")
        for (
          const body of [
            { name: "x".repeat(81), unit: "integer" },
            { name: "   ", unit: "integer" },
            { name: "Revenue", unit: "dollars" },
            { unit: "integer" }
          ]
        ) {
          const bad = yield* call("POST", `/v1/workspaces/${path.workspaceId}/metrics`, { user: memberId, body })
          assert.strictEqual(bad.status, 400, bad.text)
        }
      }))

    it.effect("saves each mapping kind, keeps the id across edits and warns about unknown events", () =>
      Effect.gen(function*() {
        const { connect, mapping, member, metric, path, save } = yield* setup
        yield* connect(usKeys)
        const id = yield* metric("Revenue per buyer", "currency")

        const first = yield* save(id, {
          kind: "event",
          event: "Purchase",
          aggregation: "average_per_user",
          property: "revenue",
          filters: [new PropertyFilter({ property: "currency", value: "USD" })]
        })
        assert.deepStrictEqual(first.warnings, [])
        assert.deepInclude(first.mapping, {
          metricId: id,
          kind: "event",
          event: "Purchase",
          aggregation: "average_per_user",
          property: "revenue",
          needsReview: false
        })
        assert.deepStrictEqual(
          "filters" in first.mapping ? first.mapping.filters?.map((filter) => ({ ...filter })) : undefined,
          [{ property: "currency", value: "USD" }]
        )
        const mappingId = first.mapping.id

        const kinds: ReadonlyArray<readonly [MappingParams, ReadonlyArray<string>]> = [
          [{ kind: "chart", chartId: DAILY_BUYERS }, []],
          [{ kind: "funnel", events: ["View Item", "Checkout", "Purchase"], conversionWindowDays: 7 }, [
            "event not recognized: Checkout"
          ]],
          [{ kind: "cohort_size", cohortId: PURCHASERS }, []],
          [{ kind: "cohort_size", cohortId: "nope0000" }, ["cohort not found: nope0000"]],
          [{ kind: "template", template: "average_session_length" }, []],
          [{ kind: "event", event: "purchase", aggregation: "count" }, ["event not recognized: purchase"]],
          [{ kind: "event", event: "Debug Ping", aggregation: "uniques" }, ["event not recognized: Debug Ping"]]
        ]
        for (const [payload, warnings] of kinds) {
          const saved = yield* save(id, payload)
          assert.deepStrictEqual(saved.warnings, warnings)
          assert.strictEqual(saved.mapping.id, mappingId)
          assert.deepInclude(saved.mapping, payload)
          const read = yield* member.metrics.getMapping({ path: mapping(id) })
          assert.deepStrictEqual(read, saved.mapping)
        }
        const listed = yield* member.metrics.list({ path })
        assert.deepInclude(listed.metrics[0]!.amplitudeMapping, { id: mappingId, event: "Debug Ping" })

        // 204 both times: the contract's only success status for it.
        yield* member.metrics.deleteMapping({ path: mapping(id) })
        expectError(yield* Effect.flip(member.metrics.getMapping({ path: mapping(id) })), "NotFound")
        yield* member.metrics.deleteMapping({ path: mapping(id) })
        const again = yield* save(id, { kind: "template", template: "new_users" })
        assert.notStrictEqual(again.mapping.id, mappingId)
      }))

    it.effect("rejects invalid mapping parameters with 400 and changes nothing", () =>
      Effect.gen(function*() {
        const { mapping, member, memberId, metric, workspaceId, save } = yield* setup
        const id = yield* metric("Buyers")
        // Parameters the contract refuses, so the typed client would not send them: sent raw.
        const bad = [
          { kind: "event", event: "Purchase", aggregation: "sum" },
          { kind: "event", event: "Purchase", aggregation: "average" },
          { kind: "event", event: "Purchase", aggregation: "average_per_user" },
          { kind: "event", event: "Purchase", aggregation: "count", property: "price" },
          { kind: "event", event: "Purchase", aggregation: "median", property: "price" },
          { kind: "event", event: "", aggregation: "count" },
          { kind: "event", event: " Purchase", aggregation: "count" },
          { kind: "funnel", events: ["Purchase"], conversionWindowDays: 7 },
          { kind: "funnel", events: ["Search", "Purchase"], conversionWindowDays: 0 },
          { kind: "chart", chartId: "../../etc" },
          { kind: "template", template: "dau" },
          { kind: "cohort_size" },
          { kind: "unknown" }
        ]
        for (const body of bad) {
          const answer = yield* call("PUT", `/v1/workspaces/${workspaceId}/metrics/${id}/amplitude-mapping`, {
            user: memberId,
            body
          })
          assert.strictEqual(answer.status, 400, `${JSON.stringify(body)}: ${answer.text}`)
        }
        expectError(yield* Effect.flip(member.metrics.getMapping({ path: mapping(id) })), "NotFound")
        expectError(
          yield* Effect.flip(save(unknownMetric(), { kind: "template", template: "new_users" })),
          "NotFound"
        )
        const offline = yield* save(id, { kind: "event", event: "Purchase", aggregation: "count" })
        assert.deepStrictEqual(offline.warnings, ["Amplitude not connected: the mapping could not be checked"])
      }))

    it.effect("a reconnect to another project flags the mappings; the same project clears nothing; saving clears", () =>
      Effect.gen(function*() {
        const { connect, member, metric, path, save } = yield* setup
        yield* connect(usKeys)
        const a = yield* metric("Searches")
        const b = yield* metric("Shares")
        const saveEvent = (metricId: MetricId, event: string) =>
          save(metricId, { kind: "event", event, aggregation: "count" })
        yield* saveEvent(a, "Search")
        yield* saveEvent(b, "Share")
        const flags = member.metrics.list({ path }).pipe(
          Effect.map((answer) => answer.metrics.map((m) => m.amplitudeMapping?.needsReview))
        )
        yield* connect(usKeys)
        assert.deepStrictEqual(yield* flags, [false, false])
        yield* connect(euKeys)
        assert.deepStrictEqual(yield* flags, [true, true])
        yield* connect(euKeys)
        assert.deepStrictEqual(yield* flags, [true, true])
        const saved = yield* saveEvent(a, "Search")
        assert.isFalse(saved.mapping.needsReview)
        assert.deepStrictEqual(yield* flags, [false, true])
      }))

    it.effect("Pull metrics: a 200 run computed from Amplitude, scoped to the bet's cohort", () =>
      Effect.gen(function*() {
        const { connect, member, metric, save, workspaceId } = yield* setup
        yield* connect(usKeys)
        const emulator = yield* AmplitudeEmulator
        const { data } = yield* emulator.project(US.id)
        const metricId = yield* metric("Purchases")
        yield* save(metricId, { kind: "event", event: "Purchase", aggregation: "count" })
        const betId = yield* insertBet(workspaceId, metricId, { cohortId: PURCHASERS, shipDate: "2026-10-15" })
        const before = (yield* emulator.requests()).reduce((max, r) => Math.max(max, r.seq), 0)

        const pulled = yield* member.outcomes.pull({ path: { workspaceId, betId } })
        const cohort = new Set(data.cohorts.find((c) => c.id === PURCHASERS)!.userIds)
        const count = (start: string, end: string) =>
          data.events.find((e) => e.name === "Purchase")!.occurrences.filter((o) =>
            o.day >= start && o.day <= end && cohort.has(o.userId)
          ).length
        const baseline = count("2026-10-08", "2026-10-14")
        const observed = count("2026-10-15", "2026-10-21")
        assert.deepInclude(pulled, {
          baseline,
          observed,
          varianceAbs: observed - baseline,
          warnings: []
        })
        assert.closeTo(pulled.variancePct!, ((observed - baseline) / baseline) * 100, 1e-9)
        const change = ((observed - baseline) / baseline) * 100
        assert.strictEqual(pulled.verdict, change <= 0 ? "miss" : change >= 10 ? "hit" : "inconclusive")
        const sent = (yield* emulator.requests({ project: US.id, endpoint: "events.segmentation" }))
          .filter((r) => r.seq > before)
          .map((r) => [r.query["m"], r.query["start"], r.query["end"], r.query["s"]])
          .sort((x, y) => String(x[1]).localeCompare(String(y[1])))
        const segment = JSON.stringify([{ prop: "userdata_cohort", op: "is", values: [PURCHASERS] }])
        assert.deepStrictEqual(sent, [
          ["totals", "20261008", "20261014", segment],
          ["totals", "20261015", "20261021", segment]
        ])
      }))

    it.effect("through the bets endpoints: the pulled run is the outcome's lastRun; the verdict is annotated", () =>
      Effect.gen(function*() {
        const { admin, connect, member, metric, path, save, workspaceId } = yield* setup
        yield* connect(usKeys)
        const metricId = yield* metric("Buyers")
        yield* save(metricId, { kind: "event", event: "Purchase", aggregation: "uniques" })
        const project = yield* admin.workspaces.createProject({ path, payload: { name: "Store" } })
        const bet = yield* member.bets.create({
          path: { workspaceId, projectId: project.id },
          payload: {
            title: "Faster checkout",
            predictedImpact: {
              metricId,
              direction: "increase",
              magnitude: 0.0001,
              magnitudeUnit: "absolute",
              timeframeDays: 7
            }
          }
        })
        const betPath = { workspaceId, betId: bet.id }
        expectError(yield* Effect.flip(member.outcomes.pull({ path: betPath })), "OutcomeNotSet")
        const logged = yield* member.bets.logOutcome({
          path: betPath,
          payload: { shipDate: "2026-10-15", whatShipped: "One-page checkout" }
        })
        assert.isNull(logged.lastRun)

        const pulled = yield* member.outcomes.pull({ path: betPath })
        const read = yield* member.bets.get({ path: betPath })
        assert.deepStrictEqual(read.outcome?.lastRun, pulled)
        const verdict = pulled.varianceAbs! > 0 ? "hit" : "miss"
        assert.strictEqual(pulled.verdict, verdict)
        assert.deepInclude(read.outcome, { verdict, verdictSource: "sweep", state: "closed" })
        const verdictLabel = (bet: typeof read) => bet.annotations.find((a) => a.kind === "verdict")?.label
        assert.strictEqual(verdictLabel(read), `● Outcome ${verdict}: Faster checkout`)

        // A PM override wins over later measurements, and its label stays.
        const overridden = verdict === "hit" ? "inconclusive" : "hit"
        yield* member.bets.overrideVerdict({ path: betPath, payload: { verdict: overridden } })
        const again = yield* member.outcomes.pull({ path: betPath })
        assert.strictEqual(again.verdict, verdict)
        const final = yield* member.bets.get({ path: betPath })
        assert.deepInclude(final.outcome, { verdict: overridden, verdictSource: "override" })
        assert.deepStrictEqual(final.outcome?.lastRun, again)
        assert.strictEqual(verdictLabel(final), `● Outcome ${overridden}: Faster checkout`)
      }))

    it.effect("Pull metrics degrades to warnings: not connected, no mapping; no outcome is a 409", () =>
      Effect.gen(function*() {
        const { member, memberId, metric, save, workspaceId } = yield* setup
        const mapped = yield* metric("Mapped")
        yield* save(mapped, { kind: "template", template: "active_users" })
        const unmapped = yield* metric("Unmapped")
        const pull = (betId: BetId) => member.outcomes.pull({ path: { workspaceId, betId } })

        const offline = yield* pull(yield* insertBet(workspaceId, mapped, { shipDate: "2026-10-15" }))
        assert.deepInclude(offline, { baseline: null, observed: null, verdict: null })
        assert.deepStrictEqual(offline.warnings, ["Amplitude not connected"])

        const nothing = yield* pull(yield* insertBet(workspaceId, unmapped, { shipDate: "2026-10-15" }))
        assert.deepStrictEqual(nothing.warnings, [
          "no Amplitude mapping for metric \"Unmapped\": map the metric to measure it",
          "Amplitude not connected"
        ])

        expectError(
          yield* Effect.flip(pull(yield* insertBet(workspaceId, mapped, { shipDate: null }))),
          "OutcomeNotSet"
        )
        expectError(yield* Effect.flip(pull(BetId.make(randomUUID()))), "NotFound")
        // A malformed id the typed client cannot send: raw.
        const malformed = yield* call("POST", `/v1/workspaces/${workspaceId}/bets/not-a-uuid/outcome/pull`, {
          user: memberId
        })
        assert.strictEqual(malformed.status, 400)
        const outsider = yield* clientAs(freshUser("outsider"))
        expectError(
          yield* Effect.flip(outsider.outcomes.pull({ path: { workspaceId, betId: BetId.make(randomUUID()) } })),
          "NotFound"
        )
      }))
  })
})

/** A bet (and its outcome when `shipDate` is set) written as the bets endpoints store them. */
const insertBet = (
  workspaceId: WorkspaceId,
  metricId: MetricId,
  options: { readonly cohortId?: string; readonly shipDate: string | null }
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const projectId = randomUUID()
    const betId = BetId.make(randomUUID())
    yield* sql`INSERT INTO projects (id, workspace_id, name) VALUES (${projectId}, ${workspaceId}, 'App')`
    yield* sql`
      INSERT INTO bets (
        id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit, timeframe_days,
        cohort_id, promoted_at, created_by)
      VALUES (
        ${betId}, ${workspaceId}, ${projectId}, 'More purchases', 'promoted', ${metricId}, 'increase', 10, 'percent',
        7, ${options.cohortId ?? null}, now(), 'pm')`
    if (options.shipDate !== null) {
      yield* sql`
        INSERT INTO outcomes (bet_id, workspace_id, ship_date, what_shipped)
        VALUES (${betId}, ${workspaceId}, ${options.shipDate}::date, 'One-click checkout')`
    }
    return betId
  }).pipe(Effect.orDie)
